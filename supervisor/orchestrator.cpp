#include "supervisor/orchestrator.hpp"

#include <fcntl.h>
#include <signal.h>

#include <fstream>

#include "ipc/stage_kind.hpp"
#include "supervisor/request_io.hpp"

namespace supervisor {

namespace asio = boost::asio;
using ipc::Error;
using ipc::ErrorKind;

int PreparedRequest::add_fd(const std::filesystem::path& path, int flags) {
  sandbox::UniqueFd fd(ipc::check_syscall(::open(path.c_str(), flags | O_CLOEXEC, 0644), "open", path.string()));
  fds.push_back(std::move(fd));
  fd_paths.push_back(path);
  return static_cast<int>(fds.size() - 1);
}

ipc::proto::StageRequest::Builder PreparedRequest::init_request() {
  if (!message) message = std::make_unique<capnp::MallocMessageBuilder>();
  return message->initRoot<ipc::proto::Message>().initRequest();
}

struct Orchestrator::JobState {
  StageJob job;
  enum class Status { kWaiting, kRunning, kSucceeded, kFailed, kSkipped } status = Status::kWaiting;
  std::shared_ptr<StageRun> run;
};

Orchestrator::Orchestrator(OrchestratorOptions options, ProgressReporter& progress)
    : options_(std::move(options)), progress_(progress) {
  if (options_.max_parallel == 0) options_.max_parallel = 1;
}

Orchestrator::~Orchestrator() {
  // Runs still alive here (an exception unwound run()) are killed and reaped
  // by their destructors.
  for (auto& job : jobs_) {
    if (job->run) job->run->kill_now();
  }
}

void Orchestrator::add(StageJob job) {
  for (const auto& existing : jobs_) {
    ipc::check(existing->job.name != job.name, "duplicate stage job name '" + job.name + "'");
  }
  for (const auto& dep : job.after) {
    bool found = false;
    for (const auto& existing : jobs_) found = found || existing->job.name == dep;
    ipc::check(found, "stage job '" + job.name + "' comes after unknown job '" + dep + "'");
  }
  auto state = std::make_unique<JobState>();
  state->job = std::move(job);
  jobs_.push_back(std::move(state));
}

bool Orchestrator::all_settled() const {
  for (const auto& job : jobs_) {
    if (job->status == JobState::Status::kWaiting || job->status == JobState::Status::kRunning) return false;
  }
  return true;
}

void Orchestrator::run() {
  if (options_.handle_signals) {
    signals_.emplace(io_, SIGINT, SIGTERM);
    signals_->async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      fail(Error(ErrorKind::kFailed, std::string("interrupted by ") +
                                         (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                                         "; every stage was stopped"));
    });
  }
  start_ready_jobs();
  while (!all_settled() && !io_.stopped()) {
    io_.run_one();
  }
  if (signals_) signals_->cancel();
  io_.restart();
  io_.poll();  // let cancelled handlers run, so no StageRun outlives run()
  if (failure_) throw *failure_;
}

void Orchestrator::start_ready_jobs() {
  for (auto& job : jobs_) {
    if (failure_) break;
    if (running_ >= options_.max_parallel) break;
    if (job->status != JobState::Status::kWaiting) continue;
    bool ready = true;
    for (const auto& dep : job->job.after) {
      for (const auto& other : jobs_) {
        if (other->job.name == dep && other->status != JobState::Status::kSucceeded) ready = false;
      }
    }
    if (ready) start_job(*job);
  }
}

void Orchestrator::start_job(JobState& job) {
  try {
    ipc::ErrorContext context("preparing stage job", job.job.name);
    PreparedRequest prepared = job.job.prepare();
    auto request = prepared.message->getRoot<ipc::proto::Message>().getRequest();
    request.setFdCount(static_cast<std::uint32_t>(prepared.fds.size()));
    if (options_.keep_requests) {
      save_request_file(*options_.keep_requests / (job.job.name + ".json"), job.job.kind,
                        prepared.message->getRoot<ipc::proto::Message>().getRequest().asReader(),
                        prepared.fd_paths);
    }
    LaunchedStage launched = launch_stage(job.job.kind, prepared.mounts, options_.launch);
    std::vector<int> fds;
    for (const auto& fd : prepared.fds) fds.push_back(fd.get());
    StageRunOptions run_options{.name = job.job.name, .kind = job.job.kind, .timeout = job.job.timeout};
    job.status = JobState::Status::kRunning;
    ++running_;
    progress_.stage_started(job.job.name, ipc::to_string(job.job.kind), launched.pid);
    JobState* state = &job;
    job.run = StageRun::start(
        io_, run_options, std::move(launched), *prepared.message, std::move(fds),
        [this, state](StageOutcome outcome) { on_job_done(*state, std::move(outcome)); },
        [this](const StageRun& run, ipc::proto::Progress::Reader p) {
          progress_.stage_progress(run.name(), StageProgress{
              .phase = p.getPhase(), .done = p.getDone(), .total = p.getTotal(),
              .bytes_done = p.getBytesDone(), .bytes_total = p.getBytesTotal(),
              .files_done = p.getFilesDone(), .files_total = p.getFilesTotal(),
              .rate = p.getRatePerSec(), .item = p.getItem()});
        },
        [this](const StageRun& run, ipc::proto::LogLine::Level level, const std::string& text) {
          static constexpr const char* kNames[] = {"debug", "info", "warning", "error"};
          progress_.stage_log(run.name(), kNames[static_cast<int>(level) & 3], text);
        });
    // The request's fds are now in the stage; ours close with `prepared`.
  } catch (const Error& e) {
    job.status = JobState::Status::kFailed;
    Error error = e;
    if (error.stage().empty()) error.with_stage(job.job.name);
    fail(std::move(error));
  }
}

void Orchestrator::on_job_done(JobState& job, StageOutcome outcome) {
  --running_;
  timings_.push_back({job.job.name, std::string(ipc::to_string(job.job.kind)), outcome.elapsed, outcome.ok()});
  if (outcome.ok() && !failure_) {
    try {
      ipc::ErrorContext context("using the result of stage job", job.job.name);
      if (job.job.on_success) job.job.on_success(outcome);
      job.status = JobState::Status::kSucceeded;
      progress_.stage_finished(job.job.name, outcome.elapsed, true);
    } catch (const Error& e) {
      job.status = JobState::Status::kFailed;
      Error error = e;
      if (error.stage().empty()) error.with_stage(job.job.name);
      progress_.stage_finished(job.job.name, outcome.elapsed, false, error.what());
      fail(std::move(error));
    }
  } else {
    job.status = JobState::Status::kFailed;
    const Error error = outcome.error ? *outcome.error
                                      : Error(ErrorKind::kFailed, "cancelled because another stage failed");
    progress_.stage_finished(job.job.name, outcome.elapsed, false, error.what());
    if (outcome.error) fail(error);
  }
  start_ready_jobs();
}

void Orchestrator::fail(Error error) {
  if (!failure_) failure_ = std::move(error);
  for (auto& job : jobs_) {
    if (job->status == JobState::Status::kWaiting) job->status = JobState::Status::kSkipped;
    if (job->status == JobState::Status::kRunning && job->run) job->run->cancel(failure_->message());
  }
}

}  // namespace supervisor
