#include "base/child_process.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <string>

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace base {
namespace {

ChildCommand shell(std::string script) {
  return {.argv = {"/bin/sh", "-c", std::move(script)}, .env = {"PATH=/usr/bin:/bin", "ONLY=this"}};
}

TEST(RunChild, CollectsStdoutAndStderrTogetherAndTheExitStatus) {
  const ChildOutcome run = run_child(shell("echo out; echo err >&2; exit 3"));
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_FALSE(run.ok());
  EXPECT_EQ(run.err, "out\nerr\n");
  EXPECT_EQ(run.status_text(), "exited with status 3");
}

TEST(RunChild, GivesTheChildOnlyItsEnvironmentAndDevNullAsStdin) {
  const ChildOutcome env = run_child({.argv = {"/usr/bin/env"}, .env = {"ONLY=this", "AND=that"}});
  EXPECT_TRUE(env.ok()) << env.err;
  EXPECT_EQ(env.err, "ONLY=this\nAND=that\n");
  const ChildOutcome cat = run_child({.argv = {"/bin/cat"}, .env = {}});
  EXPECT_TRUE(cat.ok()) << cat.err;
  EXPECT_EQ(cat.err, "");
}

TEST(RunChild, FeedsInputLargerThanAPipeWhileReadingOutput) {
  ChildCommand cmd = shell("cat");
  cmd.input = std::string(1 << 20, 'x');
  cmd.separate_stdout = true;
  const ChildOutcome run = run_child(cmd);
  EXPECT_TRUE(run.ok());
  EXPECT_EQ(run.out.size(), std::size_t{1} << 20);
  EXPECT_TRUE(run.err.empty());
}

TEST(RunChild, KillsAChildWhoseStdoutPassesTheCap) {
  ChildCommand cmd = shell("yes");
  cmd.separate_stdout = true;
  cmd.max_stdout = 100000;
  const ChildOutcome run = run_child(cmd);
  EXPECT_TRUE(run.truncated);
  EXPECT_FALSE(run.ok());
  EXPECT_EQ(run.out.size(), 100000u);
  EXPECT_EQ(run.status_text(), "wrote more output than is read (killed)");
}

TEST(RunChild, KeepsOnlyTheLastPartOfALongStderr) {
  const ChildOutcome run = run_child(shell("head -c 300000 /dev/zero | tr '\\0' a; echo; echo last >&2"));
  EXPECT_TRUE(run.ok());
  EXPECT_EQ(run.err.size(), kChildErrKept);
  EXPECT_TRUE(run.err.ends_with("a\nlast\n"));
}

TEST(RunChild, MovesAnFdToTheNumberItIsGivenAndClosesTheRest) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  ASSERT_EQ(::write(write_end.get(), "moved", 5), 5);
  write_end.reset();
  ChildCommand cmd = shell("cat <&3; ls /proc/self/fd | sort -n | tr '\\n' ' '");
  cmd.move_fds = {{read_end.get(), 3}};
  const ChildOutcome run = run_child(cmd);
  EXPECT_TRUE(run.ok()) << run.err;
  // 0-2, the moved 3, and the fd ls opens for /proc/self/fd.
  EXPECT_EQ(run.err, "moved0 1 2 3 4 ");
}

TEST(RunChild, RunsThePathGivenUnderTheNameGiven) {
  ChildCommand cmd{.argv = {"any-name", "-c", "echo $0"}, .path = "/bin/sh", .env = {}};
  EXPECT_EQ(run_child(cmd).err, "any-name\n");
}

TEST(RunChild, AProgramThatCannotBeExecutedExitsWith127AndASignalIsReported) {
  EXPECT_EQ(run_child({.argv = {"/nonexistent/program"}, .env = {}}).exit_code, 127);
  const ChildOutcome killed = run_child(shell("kill -9 $$"));
  EXPECT_EQ(killed.signal, 9);
  EXPECT_EQ(killed.exit_code, -1);
  EXPECT_EQ(killed.status_text(), "was killed by signal 9");
}

TEST(FindHostProgram, FindsItOrNamesItTheDirectoriesAndThePackage) {
  constexpr std::array<const char*, 2> kDirs = {"/nonexistent/", "/bin/"};
  EXPECT_EQ(find_host_program("sh", "dash", kDirs), "/bin/sh");
  try {
    find_host_program("oic-no-such-program", "oic-package", kDirs);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string text = e.what() + std::string(" ") + e.hint();
    EXPECT_NE(text.find("'oic-no-such-program' in /nonexistent, /bin"), std::string::npos) << text;
    EXPECT_NE(text.find("Debian package oic-package"), std::string::npos) << text;
  }
}

TEST(LastLines, TakesTheLastLinesWithoutTrailingNewlines) {
  EXPECT_EQ(last_lines("a\nb\nc\n\n", 2), "b\nc");
  EXPECT_EQ(last_lines("a\nb", 5), "a\nb");
  EXPECT_EQ(last_lines("", 3), "");
}

}  // namespace
}  // namespace base
