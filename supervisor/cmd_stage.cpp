// `stage NAME --request FILE`: runs one stage alone, sandboxed exactly as in
// a build, and prints its result as JSON. --no-sandbox runs it as a plain
// child; --shell opens a shell in that stage's sandbox instead.
#include <sys/wait.h>

#include <capnp/message.h>

#include <iostream>

#include "ipc/error_codec.hpp"
#include "ipc/request_file.hpp"
#include "ipc/stage_kind.hpp"
#include "sandbox/launch.hpp"
#include "sandbox/spec.hpp"
#include "supervisor/cli.hpp"
#include "supervisor/orchestrator.hpp"
#include "supervisor/request_io.hpp"
#include "supervisor/stage_launch.hpp"
#include "supervisor/stage_table.hpp"

namespace supervisor::cli {
namespace {

namespace fs = std::filesystem;
using ipc::proto::StageKind;

void add_stage_options(po::options_description& options) {
  options.add_options()
      ("request", po::value<std::string>()->value_name("FILE"), "the stage request (JSON or Cap'n Proto text; see docs/stages/)")
      ("no-sandbox", po::bool_switch(), "run the stage as a plain child process (debugging)")
      ("shell", po::bool_switch(), "open /bin/sh inside the stage's sandbox instead of running it")
      ("single-uid", po::bool_switch(), "map only your own uid (no /etc/subuid range; every file is owned by root)")
      ("timeout", po::value<int>()->value_name("SECONDS"), "stop the stage after SECONDS (default: the stage's own)");
}

StageKind stage_argument(const Invocation& inv) {
  const std::string& name = inv.args.at(0);
  auto kind = ipc::stage_kind_from_name(name);
  if (!kind) {
    std::string known;
    for (auto k : ipc::kAllStageKinds) known += (known.empty() ? "" : ", ") + std::string(ipc::to_string(k));
    throw ipc::Error(ipc::ErrorKind::kInvalidInput, "unknown stage '" + name + "' (stages: " + known + ")");
  }
  return *kind;
}

// The shell gets the stage's namespaces, mounts, capabilities and limits;
// its seccomp list is the installer's (the widest), since a shell must fork
// and exec where most stages may not.
int run_shell(StageKind kind, const LaunchOptions& launch) {
  sandbox::SandboxSpec spec = stage_sandbox_spec(kind, {}, launch);
  spec.executable = "/usr/bin/sh";
  spec.argv = {"sh"};
  spec.env.push_back("PS1=[stage " + std::string(ipc::to_string(kind)) + "] # ");
  spec.seccomp = stage_info(StageKind::INSTALLER).policy().seccomp;
  spec.fds = {{0, 0}, {1, 1}, {2, 2}};
  sandbox::SpawnedStage shell = sandbox::spawn(spec);
  const int status = shell.wait();
  return WIFEXITED(status) ? WEXITSTATUS(status) : kExitFailure;
}

// The host path an FdRef of the loaded request was opened from, or empty.
fs::path opened_path(const LoadedRequest& loaded, ipc::proto::FdRef::Reader ref) {
  const int slot = ref.getSlot();
  return slot >= 0 && static_cast<std::size_t>(slot) < loaded.fd_paths.size() ? loaded.fd_paths[slot] : fs::path();
}

// What a build mounts for this request besides its fds (image_jobs.cpp):
// the files left as paths, and for the installer its tree with a fresh /proc
// and a minimal /dev inside (maintainer scripts need both) and the build
// environment (copied by path), so a run by hand behaves like one in a build.
StageMounts request_mounts(StageKind kind, const LoadedRequest& loaded) {
  StageMounts mounts;
  mounts.read_only = loaded.bound_files;
  if (kind != StageKind::INSTALLER) return mounts;
  const auto installer = loaded.message->getRoot<ipc::proto::Message>().asReader().getRequest().getInstaller();
  const fs::path root = opened_path(loaded, installer.getRootDir());
  ipc::require(!root.empty(), "the installer request has no rootDir");
  // The stage runs dpkg and maintainer scripts chrooted there by path.
  mounts.read_write.push_back(root);
  mounts.extra.push_back({sandbox::MountKind::kProc, "", (root / "proc").string(), {}});
  mounts.extra.push_back({sandbox::MountKind::kDev, "", (root / "dev").string(), {}});
  const auto env = installer.getBuildEnv();
  const fs::path env_dir = env.hasDir() ? opened_path(loaded, env.getDir()) : fs::path();
  if (env_dir.empty() || env.getMode() == ipc::proto::BuildEnv::Mode::NONE) return mounts;
  (env.getMode() == ipc::proto::BuildEnv::Mode::SAVE ? mounts.read_write : mounts.read_only).push_back(env_dir);
  return mounts;
}

int run_stage_verb(const Invocation& inv) {
  const StageKind kind = stage_argument(inv);
  LaunchOptions launch;
  launch.sandboxed = !inv.options["no-sandbox"].as<bool>();
  launch.single_id = inv.options["single-uid"].as<bool>();
  if (inv.options["shell"].as<bool>()) {
    ipc::require(launch.sandboxed, "--shell opens a shell in the sandbox; it cannot go with --no-sandbox");
    return run_shell(kind, launch);
  }
  ipc::require(inv.options.count("request") > 0, "stage needs --request FILE (examples: docs/stages/)");
  const fs::path file = inv.options["request"].as<std::string>();
  auto loaded = std::make_shared<LoadedRequest>(load_request_file(file, kind));
  StageMounts mounts = request_mounts(kind, *loaded);

  ProgressReporter progress(ProgressMode::kPlain, stderr);
  OrchestratorOptions options;
  options.launch = launch;
  Orchestrator orchestrator(options, progress);
  std::string result_json;
  StageJob job{.name = std::string(ipc::to_string(kind)), .kind = kind};
  job.timeout = inv.options.count("timeout") ? std::chrono::seconds(inv.options["timeout"].as<int>())
                                             : stage_info(kind).default_timeout;
  job.prepare = [loaded, mounts] {
    PreparedRequest prepared;
    prepared.mounts = mounts;
    prepared.message = std::move(loaded->message);
    prepared.fds = std::move(loaded->fds);
    prepared.fd_paths = std::move(loaded->fd_paths);
    return prepared;
  };
  job.on_success = [&result_json](const StageOutcome& outcome) {
    result_json = ipc::result_to_json(outcome.result_reader());
  };
  orchestrator.add(std::move(job));
  try {
    orchestrator.run();
  } catch (const ipc::Error& e) {
    capnp::MallocMessageBuilder message;
    auto error = message.initRoot<ipc::proto::Error>();
    ipc::encode_error(e, error);
    inv.out << ipc::error_to_json(error.asReader()) << "\n";
    throw;
  }
  inv.out << result_json << "\n";
  return kExitOk;
}

}  // namespace

std::vector<Verb> stage_verbs() {
  return {Verb{.name = "stage", .arguments = "NAME",
               .summary = "Run one stage alone on a request file, sandboxed as in a build",
               .min_args = 1, .max_args = 1, .add_options = add_stage_options, .run = run_stage_verb}};
}

}  // namespace supervisor::cli
