// The RPM family's Solver: libsolv (the solver of dnf, zypper and tdnf)
// over primary/filelists, with the flags closest to tdnf's for a fresh
// install: recommends ignored (tdnf sees only the reference's downloaded
// subset), yum-style obsoletes, best version within repository policy.
// filelists is large and rarely needed (primary lists the files under
// /etc and the bin directories), so a request comes with primary only
// first: a file dependency nothing there provides is answered with
// filelists_needed, not an error, and the request comes again with filelists.
#include "stages/resolver/rpm/pool.hpp"
#include "stages/resolver/rpm/problems.hpp"
#include "stages/resolver/rpm/request.hpp"
#include "stages/resolver/rpm/result.hpp"
#include "stages/resolver/solver.hpp"

namespace stage::resolver {
namespace {

bool has_filelists(const std::vector<RpmIndexInput>& indexes) {
  for (const RpmIndexInput& index : indexes) {
    if (!index.filelists.empty()) return true;
  }
  return false;
}

class RpmSolver final : public Solver {
 public:
  StageOutput solve(const StageInput& input) const override {
    rpm::PoolPtr pool = rpm::load_pool(input.architecture, input.rpm_indexes, input.options.excluded);
    rpm::Jobs jobs;
    rpm::add_request_jobs(pool.get(), input.options.requests, jobs);
    rpm::SolverPtr solver(solver_create(pool.get()));
    solver_set_flag(solver.get(), SOLVER_FLAG_IGNORE_RECOMMENDED, 1);
    solver_set_flag(solver.get(), SOLVER_FLAG_YUM_OBSOLETES, 1);
    solver_set_flag(solver.get(), SOLVER_FLAG_BEST_OBEY_POLICY, 1);
    StageOutput out;
    out.family = Family::kRpm;
    out.native_arch = input.architecture;
    if (solver_solve(solver.get(), jobs.queue.get()) != 0) {
      if (!has_filelists(input.rpm_indexes)) out.filelists_needed = rpm::unprovided_file_dependencies(solver.get());
      if (!out.filelists_needed.empty()) return out;
      rpm::fail_with_problems(solver.get(), input.options.requests, jobs);
    }
    rpm::TransactionPtr transaction(solver_create_transaction(solver.get()));
    transaction_order(transaction.get(), 0);
    out.resolution = rpm::read_transaction(pool.get(), transaction.get(), input.options.requests, jobs);
    if (input.emit_dot) out.dot = write_dot(out.resolution);
    return out;
  }
};

}  // namespace

const Solver& rpm_solver() {
  static const RpmSolver solver;
  return solver;
}

}  // namespace stage::resolver
