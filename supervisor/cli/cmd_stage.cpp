// `stage NAME --request FILE`: runs one stage alone, sandboxed exactly as in
// a build, and prints its result as JSON. --no-sandbox runs it as a plain
// child; --shell opens a shell in that stage's sandbox instead.
#include <sys/resource.h>
#include <sys/wait.h>

#include <capnp/message.h>

#include <iostream>
#include <set>

#include "ipc/error_codec.hpp"
#include "ipc/request_file.hpp"
#include "ipc/stage_kind.hpp"
#include "sandbox/launch.hpp"
#include "sandbox/spec.hpp"
#include "sandbox/syscall_sets.hpp"
#include "supervisor/cli/cli.hpp"
#include "supervisor/stage/orchestrator.hpp"
#include "supervisor/stage/request_io.hpp"
#include "supervisor/stage/stage_launch.hpp"
#include "supervisor/stage/stage_table.hpp"

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
    throw base::Error(base::ErrorKind::kInvalidInput, "unknown stage '" + name + "' (stages: " + known + ")");
  }
  return *kind;
}

// The shell gets the stage's namespaces, mounts, capabilities and limits (but
// the file size limit, see below);
// its seccomp list is the installer's (the widest), since a shell must fork
// and exec where most stages may not.
int run_shell(StageKind kind, const LaunchOptions& launch) {
  sandbox::SandboxSpec spec = stage_sandbox_spec(kind, {}, launch);
  spec.executable = "/usr/bin/sh";
  spec.argv = {"sh"};
  spec.env.push_back("PS1=[stage " + std::string(ipc::to_string(kind)) + "] # ");
  spec.seccomp = stage_info(StageKind::INSTALLER).policy().seccomp;
  // The terminal is the user's own here: TIOCSTI and the rest are theirs.
  sandbox::syscalls::allow_every_ioctl(spec.seccomp);
  spec.fds = {{0, 0}, {1, 1}, {2, 2}};
  // Its stdout and stderr are the user's and may be files: the inspector's
  // RLIMIT_FSIZE 0 (its own output goes through a pipe) would kill the
  // shell at its first line there.
  std::erase_if(spec.rlimits, [](const sandbox::Rlimit& limit) { return limit.resource == RLIMIT_FSIZE; });
  for (sandbox::MountOp& op : spec.mounts) {
    if (op.kind == sandbox::MountKind::kDev) op.options = sandbox::kDevWithTty;
  }
  sandbox::SpawnedStage shell = sandbox::spawn(spec);
  const int status = shell.wait();
  return WIFEXITED(status) ? WEXITSTATUS(status) : kExitFailure;
}

// The directories a stage of `kind` writes into, by its contract: bound
// read-write even when a request written by hand does not mark them.
std::set<std::string> written_dirs(StageKind kind, ipc::proto::StageRequest::Reader request) {
  std::set<std::string> dirs;
  const auto add = [&](ipc::proto::FdRef::Reader ref) { dirs.insert(ref.getPath().cStr()); };
  switch (kind) {
    case StageKind::FETCHER: add(request.getFetcher().getOutputDir()); break;
    case StageKind::INSTALLER: {
      const auto in = request.getInstaller();
      add(in.getRootDir());
      add(in.getOutputDir());
      if (in.getBuildEnv().getMode() == ipc::proto::BuildEnv::Mode::SAVE) add(in.getBuildEnv().getDir());
      break;
    }
    case StageKind::DISKMAKER:
      add(request.getDiskmaker().getRootDir());
      add(request.getDiskmaker().getOutputDir());
      break;
    case StageKind::ISOMAKER: {
      const auto in = request.getIsomaker();
      add(in.isMakeInitrd() ? in.getMakeInitrd().getOutputDir() : in.getMakeIso().getOutputDir());
      break;
    }
    default: break;
  }
  dirs.erase("");
  return dirs;
}

// The disk maker renames subtrees between rootDir and outputDir, which
// rename(2) allows only within one mount: their closest common directory is
// bound as one (a build binds its workspace, which holds both).
fs::path diskmaker_work_dir(ipc::proto::DiskmakerRequest::Reader request) {
  const fs::path root = fs::path(request.getRootDir().getPath().cStr()).lexically_normal();
  const fs::path out = fs::path(request.getOutputDir().getPath().cStr()).lexically_normal();
  fs::path common;
  for (auto r = root.begin(), o = out.begin(); r != root.end() && o != out.end() && *r == *o; ++r, ++o) common /= *r;
  base::require(common.has_relative_path(),
               "the diskmaker's rootDir '" + root.string() + "' and outputDir '" + out.string() +
                   "' must be in one directory other than / (it is bound into the stage as one mount)");
  return common;
}

// What a build mounts for this request besides its fds (image_jobs.cpp):
// the files left as paths and every directory at its path (read-write where
// the stage writes into it, else read-only), and for the installer a fresh
// /proc and a minimal /dev inside its tree (maintainer scripts need both),
// so a run by hand behaves like one in a build.
StageMounts request_mounts(StageKind kind, const LoadedRequest& loaded) {
  const auto request = loaded.message->getRoot<ipc::proto::Message>().asReader().getRequest();
  const std::set<std::string> written = written_dirs(kind, request);
  StageMounts mounts;
  mounts.read_only = loaded.bound_files;
  mounts.read_write = loaded.bound_dirs_rw;
  for (const fs::path& dir : loaded.bound_dirs_ro) {
    (written.count(dir.string()) ? mounts.read_write : mounts.read_only).push_back(dir);
  }
  if (kind == StageKind::DISKMAKER) mounts.read_write.push_back(diskmaker_work_dir(request.getDiskmaker()));
  if (kind != StageKind::INSTALLER) return mounts;
  const fs::path root = request.getInstaller().getRootDir().getPath().cStr();
  base::require(!root.empty(), "the installer request has no rootDir path");
  mounts.extra.push_back({sandbox::MountKind::kProc, "", (root / "proc").string(), {}});
  mounts.extra.push_back({sandbox::MountKind::kDev, "", (root / "dev").string(), {}});
  return mounts;
}

int run_stage_verb(const Invocation& inv) {
  const StageKind kind = stage_argument(inv);
  LaunchOptions launch;
  launch.sandboxed = !inv.options["no-sandbox"].as<bool>();
  launch.single_id = inv.options["single-uid"].as<bool>();
  if (inv.options["shell"].as<bool>()) {
    base::require(launch.sandboxed, "--shell opens a shell in the sandbox; it cannot go with --no-sandbox");
    return run_shell(kind, launch);
  }
  base::require(inv.options.count("request") > 0, "stage needs --request FILE (examples: docs/stages/)");
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
  } catch (const base::Error& e) {
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
