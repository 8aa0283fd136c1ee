// Test helper: runs the real stage-installer in the sandbox a build gives
// it (its seccomp policy, the user namespace with the subordinate range,
// /proc and /dev mounted in the tree) on one request, as the supervisor
// does. Header-only, for the installer's sandbox tests.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>

#include <capnp/message.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"
#include "ipc/framing.hpp"
#include "sandbox/launch.hpp"
#include "sandbox/stage_owner.hpp"
#include "sandbox/stage_policy.hpp"
#include "stages/installer/policy.hpp"

namespace stage::installer::sandboxed {

inline std::string read_log(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// `work` is bound read-write and holds the tree (work/root) and the output
// directory (work/out); `read_only` are bound at their own paths. Returns
// the stage's log; fills `result_message` with its result or `error` with
// its error.
inline std::string run_sandboxed_installer(const std::filesystem::path& binary, const std::filesystem::path& work,
                                           const std::vector<std::filesystem::path>& read_only,
                                           capnp::MessageBuilder& request, capnp::MallocMessageBuilder& result_message,
                                           std::string& error) {
  namespace fs = std::filesystem;
  const std::string inside = "/run/oic/stage-installer";
  sandbox::SandboxSpec spec = sandbox::make_spec(installer_policy(), inside, {inside});
  spec.mounts.push_back({sandbox::MountKind::kDir, {}, "/run/oic", {}});
  spec.mounts.push_back({sandbox::MountKind::kBindRo, binary.string(), inside, {}});
  for (const fs::path& path : read_only) spec.mounts.push_back({sandbox::MountKind::kBindRo, path, path, {}});
  spec.mounts.push_back({sandbox::MountKind::kBindRw, work.string(), work.string(), {}});
  // The workspace, tree and output directory a build binds read-write,
  // handed to the stage's root as the supervisor does (stage_launch.cpp):
  // run by root, the stage is a subordinate uid (a no-op for a user).
  for (const fs::path& writable : {work, work / "root", work / "out"}) sandbox::give_to_stage_root(writable);
  // What supervisor::StageMounts::extra carries for the installer.
  spec.mounts.push_back({sandbox::MountKind::kProc, {}, (work / "root/proc").string(), {}});
  spec.mounts.push_back({sandbox::MountKind::kDev, {}, (work / "root/dev").string(), {}});
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  base::UniqueFd parent(sv[0]), child(sv[1]);
  const fs::path log_path = work / "stage.log";
  base::UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  spec.fds = {{child.get(), 3}, {log.get(), 1}, {log.get(), 2}};
  sandbox::SpawnedStage stage = sandbox::spawn(spec);
  child.reset();
  ipc::send_message(parent.get(), request);
  std::string text;
  for (;;) {
    ipc::ReceivedMessage received = ipc::receive_message(parent.get());
    const ipc::proto::Message::Reader m = received.message();
    if (m.isLog()) text += std::string(m.getLog().getText()) + "\n";
    if (m.isResult()) {
      result_message.setRoot(m.getResult());
      break;
    }
    if (m.isError()) {
      error = m.getError().getMessage();
      break;
    }
  }
  stage.wait();
  return text + read_log(log_path);
}

}  // namespace stage::installer::sandboxed
