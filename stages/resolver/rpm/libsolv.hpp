// libsolv for C++20, and owners for its C objects: a Pool, a Solver, a
// Transaction and a Queue are freed by their destructors, on every error
// path too. Include libsolv's headers only through this file.
#pragma once

#include <memory>

// Solvable has a member named `requires`, a keyword since C++20; renaming
// it here changes nothing in the struct's layout.
#define requires requires_deps
extern "C" {
#include <solv/bitmap.h>
#include <solv/evr.h>
#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/problems.h>
#include <solv/queue.h>
#include <solv/repo.h>
#include <solv/repo_rpmmd.h>
#include <solv/rules.h>
#include <solv/selection.h>
#include <solv/solv_xfopen.h>
#include <solv/solvable.h>
#include <solv/solver.h>
#include <solv/transaction.h>
}
#undef requires

namespace stage::resolver::rpm {

struct PoolDeleter {
  // pool_free leaves pool->considered to whoever set it.
  void operator()(Pool* pool) const noexcept {
    if (pool->considered != nullptr) {
      map_free(pool->considered);
      pool->considered = static_cast<Map*>(solv_free(pool->considered));
    }
    pool_free(pool);
  }
};
struct SolverDeleter {
  void operator()(Solver* solver) const noexcept { solver_free(solver); }
};
struct TransactionDeleter {
  void operator()(Transaction* transaction) const noexcept { transaction_free(transaction); }
};

using PoolPtr = std::unique_ptr<Pool, PoolDeleter>;
using SolverPtr = std::unique_ptr<::Solver, SolverDeleter>;
using TransactionPtr = std::unique_ptr<Transaction, TransactionDeleter>;

// A libsolv Queue (a growable array of Ids) that frees itself.
class IdQueue {
 public:
  IdQueue() noexcept { queue_init(&queue_); }
  ~IdQueue() { queue_free(&queue_); }
  IdQueue(const IdQueue&) = delete;
  IdQueue& operator=(const IdQueue&) = delete;

  Queue* get() noexcept { return &queue_; }
  const Queue* get() const noexcept { return &queue_; }
  int size() const noexcept { return queue_.count; }
  Id operator[](int i) const noexcept { return queue_.elements[i]; }

 private:
  Queue queue_;
};

}  // namespace stage::resolver::rpm
