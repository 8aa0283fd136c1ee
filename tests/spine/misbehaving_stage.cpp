// A stage that misbehaves on request, to show how the supervisor copes. It
// poses as the resolver (stage-resolver in its own folder, found through
// OIC_STAGE_DIR) and reads what to do from ResolverRequest.architecture:
//   ok       answer with an empty result
//   hang     never answer (the supervisor's timeout must stop it)
//   wait     send progress, then never answer (a test kills it from outside)
//   garbage  write bytes that are no frame, then wait
//   sigsys   make a system call the resolver's policy forbids (ptrace)
//   status   answer with this process's /proc/self/status in the dot graph
//   bigfile  write a byte past the resolver's RLIMIT_FSIZE and report the error
//   burn     touch 64 MiB (phase "touch"), use 300 ms of CPU (phase "spin"), then
//            answer (resource and step accounting)
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <cstring>
#include <vector>
#include <fstream>
#include <sstream>
#include <string>

#include "base/error.hpp"
#include "ipc/stage_main.hpp"
#include "sandbox/seccomp.hpp"

namespace {

void misbehave(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
               ipc::proto::StageResult::Builder result) {
  const std::string what = request.getResolver().getArchitecture();
  auto out = result.initResolver();
  if (what == "hang") {
    for (;;) ::pause();
  }
  if (what == "wait") {
    context.progress({.phase = "waiting", .done = 1, .total = 2});
    for (;;) ::pause();
  }
  if (what == "garbage") {
    const char junk[] = "\xff\xff\xff\x7fnot a frame at all";
    (void)!::write(ipc::kDefaultStageSocketFd, junk, sizeof junk);
    for (;;) ::pause();
  }
  if (what == "sigsys") {
    ::syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
  }
  if (what == "bigfile") {
    const int fd = ::open("/tmp/big", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    const ssize_t n = ::pwrite(fd, "x", 1, off_t{1} << 40);
    throw base::Error(base::ErrorKind::kFailed, "bigfile: open gave " + std::to_string(fd) + ", pwrite " +
                                                  std::to_string(n) + ": " + std::strerror(errno));
  }
  if (what == "burn") {
    context.progress({.phase = "touch"});
    std::vector<char> memory(64u << 20);
    for (std::size_t i = 0; i < memory.size(); i += 4096) memory[i] = static_cast<char>(i);
    context.progress({.phase = "spin"});
    timespec start{}, now{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
    do {
      ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < 300);
    out.setDotGraph(std::string(1, memory[4096 * 7]));
  }
  if (what == "status") {
    std::ifstream in("/proc/self/status");
    std::stringstream text;
    text << in.rdbuf();
    out.setDotGraph(text.str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  return ipc::run_stage(argc, argv, ipc::proto::StageKind::RESOLVER, misbehave,
                        [](int) { sandbox::install_sigsys_reporter(2); });
}
