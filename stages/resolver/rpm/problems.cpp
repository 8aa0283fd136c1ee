#include "stages/resolver/rpm/problems.hpp"

#include <set>
#include <string>

#include "base/error.hpp"
#include "stages/resolver/rpm/pool.hpp"


namespace stage::resolver::rpm {
namespace {

struct Involved {
  std::set<std::string> requested;  // request specs whose jobs are in the problem
  std::set<Id> packages;
};

Involved involved_in(::Solver* solver, Id problem, const std::vector<Request>& requests, const Jobs& jobs) {
  Involved out;
  IdQueue rules;
  solver_findallproblemrules(solver, problem, rules.get());
  for (int i = 0; i < rules.size(); ++i) {
    const Id rule = rules[i];
    if (solver_ruleclass(solver, rule) == SOLVER_RULE_JOB) {
      const int index = solver_rule2jobidx(solver, rule) / 2;
      if (index >= 0 && static_cast<std::size_t>(index) < jobs.request.size()) {
        out.requested.insert(requests[jobs.request[static_cast<std::size_t>(index)]].spec);
      }
    }
    Id from = 0, to = 0, dep = 0;
    solver_ruleinfo(solver, rule, &from, &to, &dep);
    // Packages only: not the system solvable (a job's source), which has no repository.
    for (Id p : {from, to}) {
      if (p > 1 && p < solver->pool->nsolvables && solver->pool->solvables[p].repo != nullptr) out.packages.insert(p);
    }
  }
  return out;
}

std::string joined(const std::set<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "'" : ", '") + s + "'";
  return out;
}

std::string describe_problem(::Solver* solver, Id problem, const std::vector<Request>& requests, const Jobs& jobs) {
  const std::string text = solver_problem2str(solver, problem);
  Involved inv = involved_in(solver, problem, requests, jobs);
  if (inv.requested.empty()) {
    for (const Request& r : requests) inv.requested.insert(r.spec);
  }
  std::string out = "requested " + joined(inv.requested) + ": " + text;
  std::string where;
  for (Id p : inv.packages) where += (where.empty() ? "" : ", ") + describe(solver->pool, p);
  if (!where.empty()) out += " [" + where + "]";
  return out;
}

}  // namespace

std::vector<std::string> unprovided_file_dependencies(::Solver* solver) {
  std::set<std::string> deps;
  const Id count = static_cast<Id>(solver_problem_count(solver));
  for (Id problem = 1; problem <= count; ++problem) {
    IdQueue rules;
    solver_findallproblemrules(solver, problem, rules.get());
    for (int i = 0; i < rules.size(); ++i) {
      Id from = 0, to = 0, dep = 0;
      if (solver_ruleinfo(solver, rules[i], &from, &to, &dep) != SOLVER_RULE_PKG_NOTHING_PROVIDES_DEP) continue;
      const std::string text = pool_dep2str(solver->pool, dep);
      if (text.starts_with('/')) deps.insert(text);
    }
  }
  return {deps.begin(), deps.end()};
}

void fail_with_problems(::Solver* solver, const std::vector<Request>& requests, const Jobs& jobs) {
  const int count = solver_problem_count(solver);
  std::string message = "Failed to resolve RPM packages: " + std::to_string(count) + " problem" +
                        (count == 1 ? "" : "s");
  for (Id problem = 1; problem <= count; ++problem) {
    message += "; " + describe_problem(solver, problem, requests, jobs);
  }
  base::fail(base::ErrorKind::kInvalidInput, message);
}

}  // namespace stage::resolver::rpm
