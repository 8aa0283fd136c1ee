#include "supervisor/stage/orchestrator.hpp"

#include <fcntl.h>
#include <signal.h>

#include <fstream>

#include "ipc/stage_kind.hpp"
#include "supervisor/stage/request_io.hpp"
#include "supervisor/stage/stage_steps.hpp"

namespace supervisor {

namespace asio = boost::asio;
using base::Error;
using base::ErrorKind;

int PreparedRequest::add_fd(const std::filesystem::path& path, int flags) {
  base::UniqueFd fd(base::check_syscall(::open(path.c_str(), flags | O_CLOEXEC, 0644), "open", path.string()));
  fds.push_back(std::move(fd));
  fd_paths.push_back(path);
  fd_flags.push_back(flags);
  fd_secret.resize(fds.size(), false);
  return static_cast<int>(fds.size() - 1);
}

int PreparedRequest::add_secret_fd(const std::filesystem::path& path, int flags) {
  const int slot = add_fd(path, flags);
  fd_secret[static_cast<std::size_t>(slot)] = true;
  return slot;
}

void PreparedRequest::add_dir(ipc::proto::FdRef::Builder ref, const std::filesystem::path& path, bool writable) {
  bind_dir(path, writable).encode(ref);
}

ipc::FdReference PreparedRequest::bind_dir(const std::filesystem::path& path, bool writable) {
  base::require(path.is_absolute(), "Failed to bind directory '" + path.string() + "': the path must be absolute");
  const std::filesystem::path normal = path.lexically_normal();
  dirs.push_back({normal, writable});
  (writable ? mounts.read_write : mounts.read_only).push_back(normal);
  return ipc::FdReference::of_path(normal.string(), writable);
}

ipc::proto::StageRequest::Builder PreparedRequest::init_request() {
  if (!message) message = std::make_unique<capnp::MallocMessageBuilder>();
  return message->initRoot<ipc::proto::Message>().initRequest();
}

namespace {

// Keeps what a request refers to at `to`. Files opened read-only are
// inputs: copied (reflinked where the file system can), never hard-linked:
// a second name would make the build's own file fail its single-link check. Directories and files opened for writing are where a
// stage writes (the fetcher's output, the verifier's uncompressed index): a
// fresh empty one, so a rerun neither starts from nor touches the build's.
void keep_referenced(const std::filesystem::path& from, const std::filesystem::path& to, bool written) {
  namespace fs = std::filesystem;
  if (fs::is_directory(from)) {
    fs::create_directories(to);
    return;
  }
  if (written) {
    std::ofstream created(to, std::ios::trunc);
    if (!created) throw Error(ErrorKind::kFailed, "Failed to create '" + to.string() + "'");
    return;
  }
  std::error_code ec;
  if (!fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec)) {
    throw Error(ErrorKind::kFailed, "Failed to copy '" + from.string() + "' to '" + to.string() +
                                        "': " + ec.message());
  }
}

// Saves the request as DIR/JOB.json with each file or directory it refers
// to kept in DIR/JOB.files/: the build removes its workspace and staging
// directories when it ends, and the saved request must still rerun. A
// secret file (the signer's key) is not copied: the request names its path.
void keep_request(const std::filesystem::path& dir, const StageJob& job, const PreparedRequest& prepared) {
  base::ErrorContext context("keeping the request of stage job", job.name);
  const std::filesystem::path files = dir / (job.name + ".files");
  std::vector<std::filesystem::path> kept;
  std::vector<bool> written;
  std::map<std::string, std::filesystem::path> kept_dirs;
  try {
    for (std::size_t i = 0; i < prepared.fd_paths.size(); ++i) {
      const auto& from = prepared.fd_paths[i];
      const int flags = i < prepared.fd_flags.size() ? prepared.fd_flags[i] : O_RDONLY;
      written.push_back((flags & O_ACCMODE) != O_RDONLY);
      if (i < prepared.fd_secret.size() && prepared.fd_secret[i]) {
        kept.push_back(from);  // a private key: the saved request names the user's own file
        continue;
      }
      kept.push_back(files / (std::to_string(i) + "-" + from.filename().string()));
      std::filesystem::create_directories(files);
      keep_referenced(from, kept.back(), written.back());
    }
    // Directories named by path: a fresh empty one each (the stage writes
    // there, or reads a tree that the build removes when it ends).
    for (std::size_t i = 0; i < prepared.dirs.size(); ++i) {
      const auto& from = prepared.dirs[i].path;
      kept_dirs[from.string()] = files / ("dir" + std::to_string(i) + "-" + from.filename().string());
      std::filesystem::create_directories(kept_dirs[from.string()]);
    }
  } catch (const std::filesystem::filesystem_error& e) {
    throw Error(ErrorKind::kFailed, "Failed to keep the files of the request in '" + files.string() +
                                        "': " + e.code().message());
  }
  save_request_file(dir / (job.name + ".json"), job.kind,
                    prepared.message->getRoot<ipc::proto::Message>().getRequest().asReader(), kept, written,
                    kept_dirs);
}

}  // namespace

struct Orchestrator::JobState {
  StageJob job;
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
  graph_.add(job.name, job.after);
  auto state = std::make_unique<JobState>();
  state->job = std::move(job);
  jobs_.push_back(std::move(state));
}

void Orchestrator::run() {
  // An earlier run() leaves the io_context stopped; jobs added since would
  // otherwise never start.
  io_.restart();
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
  while (!graph_.settled() && !io_.stopped()) {
    io_.run_one();
  }
  if (signals_) signals_->cancel();
  io_.restart();
  io_.poll();  // let cancelled handlers run, so no StageRun outlives run()
  if (failure_) throw *failure_;
}

void Orchestrator::start_ready_jobs() {
  // A job that fails to start stops the graph, so later ones are not taken.
  // One settled without a stage may make others ready: take again.
  for (bool settled = true; settled;) {
    settled = false;
    for (std::size_t index : graph_.take_ready(options_.max_parallel)) {
      if (graph_.stopped()) {
        graph_.cancelled(index);
      } else if (settle_without_stage(index)) {
        settled = true;
      } else {
        start_job(index);
      }
    }
  }
}

bool Orchestrator::settle_without_stage(std::size_t index) {
  const StageJob& job = jobs_[index]->job;
  if (!job.settled_without_stage) return false;
  try {
    base::ErrorContext context("deciding whether stage job", job.name, "must run");
    const std::optional<std::string> reason = job.settled_without_stage();
    if (!reason) return false;
    progress_.stage_log(job.name, "info", "no stage run: " + *reason);
    graph_.succeeded(index);
  } catch (const Error& e) {
    Error error = e;
    if (error.stage().empty()) error.with_stage(job.name);
    fail(std::move(error), index);
  }
  return true;
}

void Orchestrator::start_job(std::size_t index) {
  JobState& job = *jobs_[index];
  try {
    base::ErrorContext context("preparing stage job", job.job.name);
    PreparedRequest prepared = job.job.prepare();
    auto request = prepared.message->getRoot<ipc::proto::Message>().getRequest();
    request.setFdCount(static_cast<std::uint32_t>(prepared.fds.size()));
    if (options_.keep_requests) keep_request(*options_.keep_requests, job.job, prepared);
    LaunchedStage launched = launch_stage(job.job.kind, prepared.mounts, options_.launch);
    std::vector<int> fds;
    for (const auto& fd : prepared.fds) fds.push_back(fd.get());
    StageRunOptions run_options{.name = job.job.name, .kind = job.job.kind, .timeout = job.job.timeout};
    progress_.stage_started(job.job.name, ipc::to_string(job.job.kind), launched.pid);
    job.run = StageRun::start(
        io_, run_options, std::move(launched), *prepared.message, std::move(fds),
        [this, index](StageOutcome outcome) { on_job_done(index, std::move(outcome)); },
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
    Error error = e;
    if (error.stage().empty()) error.with_stage(job.job.name);
    fail(std::move(error), index);
  }
}

void Orchestrator::on_job_done(std::size_t index, StageOutcome outcome) {
  JobState& job = *jobs_[index];
  timings_.push_back(
      {job.job.name, std::string(ipc::to_string(job.job.kind)), outcome.elapsed, outcome.usage, outcome.ok(),
       outcome.ok() ? reported_steps(outcome.result_reader()) : std::vector<ipc::StepTime>{}});
  if (outcome.ok() && !failure_) {
    try {
      base::ErrorContext context("using the result of stage job", job.job.name);
      if (job.job.on_success) job.job.on_success(outcome);
      graph_.succeeded(index);
      progress_.stage_finished(job.job.name, outcome.elapsed, true);
    } catch (const Error& e) {
      Error error = e;
      if (error.stage().empty()) error.with_stage(job.job.name);
      progress_.stage_finished(job.job.name, outcome.elapsed, false, error.what());
      fail(std::move(error), index);
    }
  } else {
    const Error error = outcome.error ? *outcome.error
                                      : Error(ErrorKind::kFailed, "cancelled because another stage failed");
    progress_.stage_finished(job.job.name, outcome.elapsed, false, error.what());
    if (outcome.error && !failure_) {
      fail(error, index);
    } else {
      graph_.cancelled(index);
    }
  }
  start_ready_jobs();
}

void Orchestrator::fail(Error error, std::optional<std::size_t> failed_job) {
  if (!failure_) failure_ = std::move(error);
  const auto running = failed_job ? graph_.failed(*failed_job) : graph_.stop();
  for (std::size_t index : running) {
    if (jobs_[index]->run) jobs_[index]->run->cancel(failure_->message());
  }
}

}  // namespace supervisor
