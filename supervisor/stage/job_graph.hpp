// The bookkeeping of a build's stage jobs, apart from any process: which job
// may start (every job it comes after has succeeded, and fewer than the
// limit are running), and what a failure does (waiting jobs are skipped,
// running ones are to be cancelled). The orchestrator drives it; tests drive
// it alone.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace supervisor {

class JobGraph {
 public:
  enum class Status { kWaiting, kRunning, kSucceeded, kFailed, kSkipped };

  // Adds a job that may start once every job named in `after` (added
  // before) has succeeded; returns its index. Names are unique.
  std::size_t add(std::string name, std::vector<std::string> after);

  // The jobs to start now, in the order they were added, keeping at most
  // `max_parallel` running; they are marked running. None once stopped.
  std::vector<std::size_t> take_ready(std::size_t max_parallel);

  void succeeded(std::size_t job);
  // Marks a running job failed and stops the graph (see stop()); returns the
  // jobs still running, which the caller cancels.
  std::vector<std::size_t> failed(std::size_t job);
  // A job that ended because it was cancelled: failed, without stopping
  // anything more.
  void cancelled(std::size_t job);
  // Skips every waiting job; returns the running ones.
  std::vector<std::size_t> stop();

  bool stopped() const { return stopped_; }
  // No job waits or runs.
  bool settled() const;
  std::size_t running() const { return running_; }
  std::size_t size() const { return jobs_.size(); }
  Status status(std::size_t job) const { return jobs_.at(job).status; }
  const std::string& name(std::size_t job) const { return jobs_.at(job).name; }

 private:
  struct Job {
    std::string name;
    std::vector<std::size_t> after;
    Status status = Status::kWaiting;
  };
  void finish(std::size_t job, Status status);

  std::vector<Job> jobs_;
  std::size_t running_ = 0;
  bool stopped_ = false;
};

}  // namespace supervisor
