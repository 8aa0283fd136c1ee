#include "supervisor/stage/job_graph.hpp"

#include "base/error.hpp"

namespace supervisor {

std::size_t JobGraph::add(std::string name, std::vector<std::string> after) {
  Job job{.name = std::move(name), .after = {}, .status = Status::kWaiting};
  for (const auto& existing : jobs_) {
    base::check(existing.name != job.name, "duplicate stage job name '" + job.name + "'");
  }
  for (const auto& dep : after) {
    std::size_t index = 0;
    while (index < jobs_.size() && jobs_[index].name != dep) ++index;
    base::check(index < jobs_.size(), "stage job '" + job.name + "' comes after unknown job '" + dep + "'");
    job.after.push_back(index);
  }
  jobs_.push_back(std::move(job));
  return jobs_.size() - 1;
}

std::vector<std::size_t> JobGraph::take_ready(std::size_t max_parallel) {
  std::vector<std::size_t> ready;
  if (max_parallel == 0) max_parallel = 1;
  for (std::size_t i = 0; i < jobs_.size() && !stopped_ && running_ < max_parallel; ++i) {
    Job& job = jobs_[i];
    if (job.status != Status::kWaiting) continue;
    bool deps_done = true;
    for (std::size_t dep : job.after) deps_done = deps_done && jobs_[dep].status == Status::kSucceeded;
    if (!deps_done) continue;
    job.status = Status::kRunning;
    ++running_;
    ready.push_back(i);
  }
  return ready;
}

void JobGraph::finish(std::size_t job, Status status) {
  Job& j = jobs_.at(job);
  base::check(j.status == Status::kRunning, "stage job '" + j.name + "' finished but was not running");
  j.status = status;
  --running_;
}

void JobGraph::succeeded(std::size_t job) { finish(job, Status::kSucceeded); }

std::vector<std::size_t> JobGraph::failed(std::size_t job) {
  finish(job, Status::kFailed);
  return stop();
}

void JobGraph::cancelled(std::size_t job) { finish(job, Status::kFailed); }

std::vector<std::size_t> JobGraph::stop() {
  stopped_ = true;
  std::vector<std::size_t> running;
  for (std::size_t i = 0; i < jobs_.size(); ++i) {
    if (jobs_[i].status == Status::kWaiting) jobs_[i].status = Status::kSkipped;
    if (jobs_[i].status == Status::kRunning) running.push_back(i);
  }
  return running;
}

bool JobGraph::settled() const {
  if (running_ > 0) return false;
  for (const auto& job : jobs_) {
    if (job.status == Status::kWaiting) return false;
  }
  return true;
}

}  // namespace supervisor
