// What the fetcher's sandbox alone allows or refuses: its own decisions per
// syscall, its capabilities and its needs under the real filter. What every
// stage holds to is tested once in stages/policy_baseline_test.cpp.
#include "stages/fetcher/policy.hpp"

#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "sandbox/testing/probe_run.hpp"
#include "base/unique_fd.hpp"

namespace stage::fetcher {
namespace {

using sandbox::fail_with;
using sandbox::kAllowed;
using sandbox::kTrapped;

TEST(FetcherPolicy, DecidesSyscallsAsDeclared) {
  sandbox::testing::expect_decisions(fetcher_policy(), {
      {"downloads need TCP", SCMP_SYS(socket), std::nullopt},
      {"connects to the mirror", SCMP_SYS(connect), kAllowed},
      {"names no socket: abstract names are the host's", SCMP_SYS(bind), fail_with(EACCES)},
      {"serves nothing", SCMP_SYS(listen), kTrapped},
      {"serves nothing", SCMP_SYS(accept4), kTrapped},
      {"libcurl's wake-up pair only", SCMP_SYS(socketpair), std::nullopt},
      {"writes downloads", SCMP_SYS(rename), kAllowed},
      {"runs no tools", SCMP_SYS(execveat), kTrapped},
      {"owns nothing", SCMP_SYS(chown), kTrapped},
  });
}

TEST(FetcherPolicy, KeepsOnlyItsDeclaredCapabilities) {
  const std::vector<int> expected = {};
  EXPECT_EQ(fetcher_policy().capabilities, expected);
}

// A package fits (the largest in Debian are ~1.5 GB); a runaway body does not.
TEST(FetcherPolicy, LimitsTheSizeOfEveryFileItWrites) {
  const auto limits = fetcher_policy().rlimits;
  const auto fsize = std::find_if(limits.begin(), limits.end(),
                                  [](const sandbox::Rlimit& r) { return r.resource == RLIMIT_FSIZE; });
  ASSERT_NE(fsize, limits.end());
  EXPECT_EQ(fsize->soft, 4ULL << 30);
  EXPECT_EQ(fsize->hard, 4ULL << 30);
}

TEST(FetcherPolicy, KillsOnChown) {
  EXPECT_EXIT((sandbox::testing::load_filter(fetcher_policy()), chown("/nonexistent", 0, 0)),
              ::testing::KilledBySignal(SIGSYS), "");
}

// Every allowed call the stage depends on still works under the real filter
// (bad arguments, so the kernel answers with an error instead of acting).
TEST(FetcherPolicy, AllowsWhatTheStageNeeds) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(fetcher_policy());
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool tcp = fd >= 0 && close(fd) == 0;
        const bool rename_ok = rename("/nonexistent/a", "/nonexistent/b") < 0 && errno == ENOENT;
        _exit(tcp && rename_ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// An abstract unix socket of the host's network namespace, which the fetcher
// shares: the filtered process can neither reach it nor take a name beside it.
class HostAbstractListener {
 public:
  HostAbstractListener() : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    const sockaddr_un addr = address("oic-fetcher-policy-test-" + std::to_string(::getpid()));
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), length(addr)), 0);
    EXPECT_EQ(::listen(fd_.get(), 1), 0);
    name_ = addr;
  }
  const sockaddr_un& name() const { return name_; }

  static sockaddr_un address(const std::string& abstract_name) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    abstract_name.copy(addr.sun_path + 1, sizeof(addr.sun_path) - 2);
    return addr;
  }
  static socklen_t length(const sockaddr_un& addr) {
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + std::strlen(addr.sun_path + 1));
  }

 private:
  base::UniqueFd fd_;
  sockaddr_un name_{};
};

TEST(FetcherPolicy, CannotReachTheHostsAbstractUnixSockets) {
  const HostAbstractListener listener;
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(fetcher_policy());
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool refused = fd < 0 && errno == EACCES;
        int pair[2];
        const bool pair_ok = ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0;
        const sockaddr_un& addr = listener.name();
        const bool connect_fails =
            pair_ok && ::connect(pair[0], reinterpret_cast<const sockaddr*>(&addr),
                                 HostAbstractListener::length(addr)) < 0;
        const sockaddr_un squat = HostAbstractListener::address("oic-fetcher-squat");
        const bool bind_refused =
            pair_ok && ::bind(pair[1], reinterpret_cast<const sockaddr*>(&squat),
                              HostAbstractListener::length(squat)) < 0 && errno == EACCES;
        _exit(refused && pair_ok && connect_fails && bind_refused ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// A datagram pair could send to any unbound-peer abstract socket by address.
TEST(FetcherPolicy, KillsOnADatagramSocketpair) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(fetcher_policy());
        int pair[2];
        ::socketpair(AF_UNIX, SOCK_DGRAM, 0, pair);
        _exit(0);
      },
      ::testing::KilledBySignal(SIGSYS), "");
}

TEST(FetcherPolicy, KillsOnListen) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(fetcher_policy());
        ::listen(::socket(AF_INET, SOCK_STREAM, 0), 1);
        _exit(0);
      },
      ::testing::KilledBySignal(SIGSYS), "");
}

// TCP reaches a host listener, and getaddrinfo still resolves with its
// netlink and nscd probes refused.
TEST(FetcherPolicy, ConnectsOverTcpAndResolvesNames) {
  const sandbox::testing::LocalTcpServer server;
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(fetcher_policy());
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(server.port()));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool tcp = fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
        addrinfo hints{};
        hints.ai_flags = AI_ADDRCONFIG;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* found = nullptr;
        const bool resolved = ::getaddrinfo("localhost", "80", &hints, &found) == 0;
        _exit(tcp && resolved ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// The launcher's filter allows the exec of the stage itself; once running,
// the stage shuts that door too.
TEST(FetcherPolicy, RunningStageCannotExec) {
  sandbox::testing::expect_no_exec_once_running(fetcher_policy(), confine_running_stage);
}

}  // namespace
}  // namespace stage::fetcher
