#include "live/target_setup.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "tests/support/temp_dir.hpp"

namespace live {
namespace {

TEST(LiveTargetSetup, WritesTheHostNameAndItsHostsLine) {
  tests::TempDir root;
  root.write("etc/hostname", "debian12\n");
  root.write("etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tdebian12\n::1\tlocalhost ip6-localhost\n");
  write_hostname(root.path(), "build-7.example");
  EXPECT_EQ(root.read("etc/hostname"), "build-7.example\n");
  EXPECT_EQ(root.read("etc/hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n127.0.1.1\tbuild-7.example\n");
}

TEST(LiveTargetSetup, AddsAHostsFileWhenTheImageHasNone) {
  tests::TempDir root;
  root.write("etc/hostname", "x\n");
  write_hostname(root.path(), "node");
  EXPECT_EQ(root.read("etc/hosts"), "127.0.1.1\tnode\n");
}

TEST(LiveTargetSetup, RefusesBadHostAndUserNames) {
  for (const std::string& bad : std::vector<std::string>{"", "-a", "a-", "a..b", "under_score", std::string(64, 'a'), "a b"}) {
    EXPECT_THROW(check_hostname(bad), base::Error) << bad;
  }
  for (const std::string& good : std::vector<std::string>{"a", "debian12", "a-b.c-d", std::string(63, 'a')}) {
    EXPECT_NO_THROW(check_hostname(good)) << good;
  }
  for (const std::string& bad : std::vector<std::string>{"", "Alice", "1abc", "a:b", "a b", std::string(33, 'a')}) {
    EXPECT_THROW(check_user_name(bad), base::Error) << bad;
  }
  for (const std::string& good : std::vector<std::string>{"alice", "_svc", "a-1_b"}) EXPECT_NO_THROW(check_user_name(good)) << good;
}

}  // namespace
}  // namespace live
