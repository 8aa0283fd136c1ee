// A build as a graph of stage runs on one io_context: a job starts when the
// jobs it comes after have succeeded, independent jobs run concurrently
// (downloads go on while earlier packages are verified), and the first
// failure — or SIGINT/SIGTERM — stops every stage process before run()
// returns.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <capnp/message.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "ipc/shared.hpp"
#include "ipc/stage.capnp.h"
#include "ipc/step_clock.hpp"
#include "base/unique_fd.hpp"
#include "supervisor/stage/job_graph.hpp"
#include "supervisor/stage/progress.hpp"
#include "supervisor/stage/stage_launch.hpp"
#include "supervisor/stage/stage_run.hpp"

namespace supervisor {

// A request ready to send: the message (a proto::Message holding the
// request), the fds its FdRef slots refer to, and the host path each fd was
// opened from (so --keep-requests can save a request a person can rerun).
struct PreparedRequest {
  std::unique_ptr<capnp::MallocMessageBuilder> message;
  std::vector<base::UniqueFd> fds;
  std::vector<std::filesystem::path> fd_paths;
  std::vector<int> fd_flags;  // the open flags of each fd (add_fd fills it)
  StageMounts mounts;

  // Directories the request names by path, each bound at that path in the
  // stage's root (never passed as an fd: see ipc/framing.cpp).
  struct BoundDir {
    std::filesystem::path path;
    bool writable;
  };
  std::vector<BoundDir> dirs;

  // Opens `path` with `flags` and returns the slot to put in an FdRef.
  // Files only: a directory is refused when the request is sent.
  int add_fd(const std::filesystem::path& path, int flags);
  // The same for a file whose bytes must never be copied (a private key):
  // --keep-requests saves its path, never a copy of it.
  int add_secret_fd(const std::filesystem::path& path, int flags);
  std::vector<bool> fd_secret;  // by slot (add_secret_fd fills it)
  // Binds directory `path` into the stage (read-write when `writable`) and
  // sets `ref` to name it; the stage opens it inside its own root.
  void add_dir(ipc::proto::FdRef::Builder ref, const std::filesystem::path& path, bool writable);
  // The same for a stage client's request (stages/<name>/client.hpp): the
  // reference to put in it.
  ipc::FdReference bind_dir(const std::filesystem::path& path, bool writable);
  ipc::proto::StageRequest::Builder init_request();
};

struct StageJob {
  std::string name;                  // unique: "fetch-metadata", "verify-packages-2"
  ipc::proto::StageKind kind = ipc::proto::StageKind::FETCHER;
  std::vector<std::string> after;    // jobs that must succeed first
  std::function<PreparedRequest()> prepare;            // runs when the job becomes ready
  std::function<void(const StageOutcome&)> on_success; // may throw base::Error
  std::chrono::seconds timeout{3600};
  // Asked when the job becomes ready, before `prepare`: a reason means what
  // the stage would produce is already known (a verdict kept from an earlier
  // build), so the job succeeds with no stage run and the reason is logged.
  // May throw base::Error, which fails the job.
  std::function<std::optional<std::string>()> settled_without_stage;
};

struct OrchestratorOptions {
  std::size_t max_parallel = 2;
  LaunchOptions launch;
  // Save every request here as JOB.json, with the files it reads linked (or
  // copied) and the directories it writes made afresh in JOB.files/.
  std::optional<std::filesystem::path> keep_requests;
  bool handle_signals = true;                           // SIGINT/SIGTERM cancel the build
};

struct StageTiming {
  std::string name;
  std::string stage;
  std::chrono::milliseconds elapsed{0};
  ResourceUse usage;
  bool ok = false;
  std::vector<ipc::StepTime> steps;  // what the stage reported (stage_steps.hpp)
};

class Orchestrator {
 public:
  Orchestrator(OrchestratorOptions options, ProgressReporter& progress);
  ~Orchestrator();

  void add(StageJob job);
  // Runs every job added so far. Throws the first failure as base::Error
  // (with the stage named) after every stage process is gone.
  void run();

  const std::vector<StageTiming>& timings() const { return timings_; }
  boost::asio::io_context& io() { return io_; }

 private:
  struct JobState;

  void start_ready_jobs();
  void start_job(std::size_t index);
  // True when the job needed no stage (StageJob::settled_without_stage) or
  // failed deciding that; the graph has then moved on.
  bool settle_without_stage(std::size_t index);
  void on_job_done(std::size_t index, StageOutcome outcome);
  // Records the first failure and stops the graph: waiting jobs are skipped,
  // running ones cancelled.
  void fail(base::Error error, std::optional<std::size_t> failed_job = std::nullopt);

  OrchestratorOptions options_;
  ProgressReporter& progress_;
  boost::asio::io_context io_;
  std::optional<boost::asio::signal_set> signals_;
  JobGraph graph_;
  std::vector<std::unique_ptr<JobState>> jobs_;  // by graph index
  std::vector<StageTiming> timings_;
  std::optional<base::Error> failure_;
};

}  // namespace supervisor
