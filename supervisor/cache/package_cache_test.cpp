#include "supervisor/cache/package_cache.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "base/error.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// sha256("hello\n") and sha256("other\n").
constexpr const char* kHello = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
constexpr const char* kOther = "7e4fa2eb8c7ac089739d5defc4489fad68a100d92082ca35c6b40a4524821f87";

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "oic-cache-XXXXXX").string();
    base::check(::mkdtemp(pattern.data()) != nullptr, "Failed to create a temporary directory");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, std::string_view content) {
  std::ofstream(path, std::ios::binary) << content;
}

std::string read_fd(int fd) {
  std::string out;
  char buffer[256];
  while (const ssize_t n = ::read(fd, buffer, sizeof buffer)) {
    if (n < 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

TEST(PackageCache, CommitsAVerifiedObjectUnderItsHash) {
  TempDir dir;
  PackageCache cache(dir.path(), CacheAccess::kBuild);
  const auto staging = cache.make_staging_area();
  write_file(staging.dir() / "hello_1.0_all.deb", "hello\n");
  const auto lock = cache.lock_object(kHello);
  const fs::path object = cache.commit(lock, staging.dir() / "hello_1.0_all.deb", "hello_1.0_all.deb");
  EXPECT_EQ(object, dir.path() / "packages/sha256/58" / kHello);
  EXPECT_FALSE(fs::exists(staging.dir() / "hello_1.0_all.deb"));
  EXPECT_EQ(fs::status(object).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::group_read |
                                                                  fs::perms::others_read);
  std::ifstream name(object.string() + ".name");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(name), {}), "hello_1.0_all.deb");
  auto lookup = cache.open_verified(lock);
  ASSERT_EQ(lookup.status, CacheLookup::Status::kHit);
  EXPECT_EQ(read_fd(lookup.fd.get()), "hello\n");
}

TEST(PackageCache, RefusesToCommitContentWithAnotherHash) {
  TempDir dir;
  PackageCache cache(dir.path(), CacheAccess::kBuild);
  const auto staging = cache.make_staging_area();
  write_file(staging.dir() / "evil.deb", "other\n");
  const auto lock = cache.lock_object(kHello);
  try {
    cache.commit(lock, staging.dir() / "evil.deb", "hello.deb");
    FAIL() << "a mismatching object was committed";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(e.message().find("evil.deb"), std::string::npos) << e.what();
    EXPECT_NE(e.message().find(std::string("sha256 is ") + kOther + ", expected " + kHello), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(staging.dir() / "evil.deb"));
  EXPECT_FALSE(fs::exists(cache.object_path(kHello)));
  EXPECT_EQ(cache.open_verified(lock).status, CacheLookup::Status::kMiss);
}

TEST(PackageCache, RefusesAStagedHardLinkAndASymlink) {
  TempDir dir;
  PackageCache cache(dir.path(), CacheAccess::kBuild);
  const auto staging = cache.make_staging_area();
  write_file(staging.dir() / "kept-by-stage", "hello\n");
  ASSERT_EQ(::link((staging.dir() / "kept-by-stage").c_str(), (staging.dir() / "linked.deb").c_str()), 0);
  ASSERT_EQ(::symlink("kept-by-stage", (staging.dir() / "symlink.deb").c_str()), 0);
  const auto lock = cache.lock_object(kHello);
  try {
    cache.commit(lock, staging.dir() / "linked.deb", "hello.deb");
    FAIL() << "a hard link was committed";
  } catch (const base::Error& e) {
    EXPECT_NE(e.message().find("hard link"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cache.commit(lock, staging.dir() / "symlink.deb", "hello.deb"), base::Error);
  EXPECT_EQ(cache.open_verified(lock).status, CacheLookup::Status::kMiss);
}

TEST(PackageCache, KeepsItsRootPrivateAndTightensAnOpenOne) {
  TempDir dir;
  const fs::path root = dir.path() / "cache";
  fs::create_directories(root / "packages");
  ASSERT_EQ(::chmod(root.c_str(), 0755), 0);
  ASSERT_EQ(::chmod((root / "packages").c_str(), 0755), 0);
  PackageCache cache(root, CacheAccess::kBuild);
  EXPECT_EQ(fs::status(root).permissions(), fs::perms::owner_all);
  EXPECT_EQ(fs::status(root / "packages").permissions(),
            fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  ASSERT_EQ(cache.warnings().size(), 2u);
  EXPECT_NE(cache.warnings()[0].find(root.string()), std::string::npos) << cache.warnings()[0];
  PackageCache fresh(dir.path() / "fresh", CacheAccess::kBuild);
  EXPECT_EQ(fs::status(dir.path() / "fresh").permissions(), fs::perms::owner_all);
  EXPECT_EQ(fs::status(dir.path() / "fresh/packages").permissions(),
            fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  EXPECT_TRUE(fresh.warnings().empty());
}

TEST(PackageCache, EvictsACorruptObjectAndNamesIt) {
  TempDir dir;
  PackageCache cache(dir.path(), CacheAccess::kBuild);
  const auto staging = cache.make_staging_area();
  write_file(staging.dir() / "x", "hello\n");
  const auto lock = cache.lock_object(kHello);
  const fs::path object = cache.commit(lock, staging.dir() / "x", "hello_1.0_all.deb");
  fs::permissions(object, fs::perms::owner_write, fs::perm_options::add);
  write_file(object, "hellO\n");  // bit rot, or a tampering neighbour
  const auto lookup = cache.open_verified(lock);
  ASSERT_EQ(lookup.status, CacheLookup::Status::kEvicted);
  EXPECT_NE(lookup.message.find("hello_1.0_all.deb"), std::string::npos) << lookup.message;
  EXPECT_NE(lookup.message.find(kHello), std::string::npos) << lookup.message;
  EXPECT_FALSE(fs::exists(object));
  EXPECT_EQ(cache.open_verified(lock).status, CacheLookup::Status::kMiss);
}

// Commits "hello\n" under kHello and returns the object's path.
fs::path commit_hello(PackageCache& cache) {
  const auto staging = cache.make_staging_area();
  write_file(staging.dir() / "x", "hello\n");
  return cache.commit(cache.lock_object(kHello), staging.dir() / "x", "hello_1.0_all.deb");
}

TEST(PackageCache, AnObjectIsUncheckedUntilMarkedAndTheMarkerNamesTheRules) {
  TempDir dir;
  PackageCache cache(dir.path(), CacheAccess::kBuild);
  const fs::path object = commit_hello(cache);
  EXPECT_FALSE(cache.archive_checked(kHello));
  cache.mark_archive_checked(kHello);
  EXPECT_TRUE(cache.archive_checked(kHello));
  EXPECT_FALSE(cache.archive_checked(kOther));
  std::ifstream marker(object.string() + ".checked");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(marker), {}), kArchiveCheckMarker);
  // A marker written under other rules does not count.
  write_file(object.string() + ".checked", "archive-check 0\n");
  EXPECT_FALSE(cache.archive_checked(kHello));
  // Marking leaves no temporary file behind.
  for (const auto& entry : fs::directory_iterator(object.parent_path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

TEST(PackageCache, EvictingAnObjectRemovesItsNameAndMarker) {
  TempDir dir;
  PackageCache cache(dir.path(), CacheAccess::kBuild);
  const fs::path object = commit_hello(cache);
  cache.mark_archive_checked(kHello);
  cache.evict(cache.lock_object(kHello));
  EXPECT_FALSE(fs::exists(object));
  EXPECT_FALSE(fs::exists(object.string() + ".name"));
  EXPECT_FALSE(cache.archive_checked(kHello));
  cache.evict(cache.lock_object(kHello));  // already gone: no error
}

TEST(PackageCache, ACorruptObjectLosesItsMarkerWhenEvicted) {
  TempDir dir;
  PackageCache cache(dir.path(), CacheAccess::kBuild);
  const fs::path object = commit_hello(cache);
  cache.mark_archive_checked(kHello);
  fs::permissions(object, fs::perms::owner_write, fs::perm_options::add);
  write_file(object, "hellO\n");
  ASSERT_EQ(cache.open_verified(cache.lock_object(kHello)).status, CacheLookup::Status::kEvicted);
  EXPECT_FALSE(cache.archive_checked(kHello));
  EXPECT_FALSE(fs::exists(object.string() + ".checked"));
}

TEST(PackageCache, RejectsKeysThatAreNotSha256Hex) {
  TempDir dir;
  PackageCache cache(dir.path(), CacheAccess::kBuild);
  for (const std::string& key : {std::string("../../etc/passwd"), std::string(64, 'A'), std::string(63, 'a'), std::string()}) {
    SCOPED_TRACE(key);
    EXPECT_THROW(cache.lock_object(key), base::Error);
  }
}

// Each child: take the object's lock; if absent, "download" it slowly (and
// count that in a shared file), then commit. Exactly one download must happen.
int fetch_in_child(const fs::path& root, const fs::path& counter) {
  PackageCache cache(root, CacheAccess::kBuild);
  const auto lock = cache.lock_object(kHello);
  if (cache.open_verified(lock).status == CacheLookup::Status::kHit) return 0;
  std::ofstream(counter, std::ios::app) << "download\n";
  const auto staging = cache.make_staging_area();
  std::ofstream out(staging.dir() / "part", std::ios::binary);
  for (char c : std::string("hello\n")) {
    out << c << std::flush;
    std::this_thread::sleep_for(5ms);
  }
  out.close();
  cache.commit(lock, staging.dir() / "part", "hello.deb");
  return 0;
}

TEST(PackageCache, ConcurrentProcessesDownloadOnceAndNeverCorrupt) {
  TempDir dir;
  const fs::path counter = dir.path() / "downloads";
  std::vector<pid_t> children;
  for (int i = 0; i < 6; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int rc = 1;
      try {
        rc = fetch_in_child(dir.path() / "cache", counter);
      } catch (...) {
      }
      ::_exit(rc);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::ifstream in(counter);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "download\n");
  PackageCache cache(dir.path() / "cache", CacheAccess::kBuild);
  EXPECT_EQ(cache.open_verified(cache.lock_object(kHello)).status, CacheLookup::Status::kHit);
}

TEST(PackageCache, SecondHolderOfAnObjectLockWaitsForTheFirst) {
  TempDir dir;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  // Forked before the parent locks: a child would otherwise inherit the lock's
  // open file description and hold the lock itself.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(ready[1]);
    char byte;
    if (::read(ready[0], &byte, 1) != 1) ::_exit(2);
    PackageCache child(dir.path(), CacheAccess::kBuild);
    const auto start = std::chrono::steady_clock::now();
    child.lock_object(kHello);
    ::_exit(std::chrono::steady_clock::now() - start >= 300ms ? 0 : 1);
  }
  ::close(ready[0]);
  {
    PackageCache cache(dir.path(), CacheAccess::kBuild);
    const auto lock = cache.lock_object(kHello);
    ASSERT_EQ(::write(ready[1], "x", 1), 1);
    ::close(ready[1]);
    std::this_thread::sleep_for(400ms);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the second locker did not wait";
}

TEST(PackageCache, RemovesStagingOfKilledRunsButNotOfLiveOnes) {
  TempDir dir;
  PackageCache cache(dir.path(), CacheAccess::kBuild);
  const auto live = cache.make_staging_area();
  write_file(live.dir() / "a.deb.part", "partial");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    PackageCache child(dir.path(), CacheAccess::kBuild);
    auto area = std::make_unique<StagingArea>(child.make_staging_area());
    write_file(area->dir() / "b.deb.part", "partial");
    write_file(dir.path() / "dead", area->dir().string());
    ::_exit(0);  // killed: no destructor removes the area
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  std::ifstream in(dir.path() / "dead");
  const fs::path dead(std::string(std::istreambuf_iterator<char>(in), {}));
  ASSERT_TRUE(fs::exists(dead));
  PackageCache next(dir.path(), CacheAccess::kBuild);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live.dir() / "a.deb.part"));
}

TEST(PackageCache, MaintenanceIsRefusedWhileABuildHoldsTheCache) {
  TempDir dir;
  PackageCache build(dir.path(), CacheAccess::kBuild);
  try {
    PackageCache maintenance(dir.path(), CacheAccess::kMaintenance);
    FAIL() << "maintenance got the cache while a build held it";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kOverloaded);
    EXPECT_NE(e.message().find(dir.path().string()), std::string::npos) << e.what();
  }
}

// A cache with one object, one index and one stale staging file.
fs::path fill_cache(const fs::path& root) {
  PackageCache cache(root, CacheAccess::kBuild);
  const auto staging = cache.make_staging_area();
  write_file(staging.dir() / "x", "hello\n");
  const fs::path object = cache.commit(cache.lock_object(kHello), staging.dir() / "x", "hello.deb");
  write_file(cache.metadata_dir() / "Packages.xz", "index");
  fs::create_directories(root / "tmp/.new-abcdef");
  write_file(root / "tmp/.new-abcdef/b.part", "stale");
  return object;
}

TEST(PackageCache, CleanDryRunListsWithoutRemoving) {
  TempDir dir;
  const fs::path object = fill_cache(dir.path());
  PackageCache cache(dir.path(), CacheAccess::kMaintenance);
  const CleanReport listed = cache.clean(CleanScope{.packages = true, .metadata = true, .staging = true}, true);
  const std::vector<fs::path> expected = {dir.path() / "metadata", dir.path() / "packages", dir.path() / "tmp"};
  EXPECT_EQ(listed.removed, expected);
  EXPECT_TRUE(listed.missing.empty());
  EXPECT_TRUE(fs::exists(object));
  EXPECT_TRUE(fs::exists(dir.path() / "tmp/.new-abcdef/b.part"));
}

TEST(PackageCache, CleanRemovesOnlyTheChosenScopes) {
  TempDir dir;
  const fs::path object = fill_cache(dir.path());
  PackageCache cache(dir.path(), CacheAccess::kMaintenance);
  const CleanReport removed = cache.clean(CleanScope{.packages = false, .metadata = true, .staging = true}, false);
  EXPECT_EQ(removed.removed, (std::vector<fs::path>{dir.path() / "metadata", dir.path() / "tmp"}));
  EXPECT_FALSE(fs::exists(dir.path() / "metadata"));
  EXPECT_FALSE(fs::exists(dir.path() / "tmp"));
  EXPECT_TRUE(fs::exists(object));
  const CleanReport again = cache.clean(CleanScope{.packages = true, .metadata = true, .staging = false}, false);
  EXPECT_EQ(again.removed, std::vector<fs::path>{dir.path() / "packages"});
  EXPECT_EQ(again.missing, std::vector<fs::path>{dir.path() / "metadata"});
  EXPECT_FALSE(fs::exists(object));
}

TEST(PackageCache, CleanRemovesASymlinkWithoutFollowingIt) {
  TempDir dir;
  TempDir outside;
  write_file(outside.path() / "precious", "keep");
  fill_cache(dir.path());
  fs::create_directory_symlink(outside.path(), dir.path() / "packages/sha256/link");
  PackageCache cache(dir.path(), CacheAccess::kMaintenance);
  cache.clean(CleanScope{.packages = true}, false);
  EXPECT_FALSE(fs::exists(dir.path() / "packages"));
  EXPECT_TRUE(fs::exists(outside.path() / "precious"));
}

TEST(PackageCache, ABuildRecreatesWhatACleanRemoved) {
  TempDir dir;
  fill_cache(dir.path());
  {
    PackageCache cache(dir.path(), CacheAccess::kMaintenance);
    cache.clean(CleanScope{.packages = true, .metadata = true, .staging = true}, false);
  }
  PackageCache build(dir.path(), CacheAccess::kBuild);
  EXPECT_TRUE(fs::is_directory(build.metadata_dir()));
  EXPECT_TRUE(fs::is_directory(dir.path() / "packages/sha256"));
  EXPECT_FALSE(build.open_verified(build.lock_object(kHello)).status == CacheLookup::Status::kHit);
}

TEST(PackageCache, CleanObjectsTakesEachObjectWithItsSideFilesAndNothingElse) {
  TempDir dir;
  const fs::path hello = fill_cache(dir.path());
  {
    PackageCache build(dir.path(), CacheAccess::kBuild);
    build.mark_archive_checked(kHello);
    const auto staging = build.make_staging_area();
    write_file(staging.dir() / "o", "other\n");
    build.commit(build.lock_object(kOther), staging.dir() / "o", "other.deb");
  }
  PackageCache cache(dir.path(), CacheAccess::kMaintenance);
  const std::string h = hello.string();
  const std::vector<fs::path> expected{h, h + ".checked", h + ".lock", h + ".name"};
  const std::string absent(64, 'e');
  const CleanReport listed = cache.clean_objects({kHello, absent}, true);
  EXPECT_EQ(listed.removed, expected);
  EXPECT_EQ(listed.missing, std::vector<fs::path>{cache.object_path(absent)});
  for (const fs::path& p : expected) EXPECT_TRUE(fs::exists(p)) << p;
  EXPECT_EQ(cache.clean_objects({kHello, absent}, false).removed, listed.removed);
  for (const fs::path& p : expected) EXPECT_FALSE(fs::exists(p)) << p;
  EXPECT_TRUE(fs::exists(cache.object_path(kOther)));
  EXPECT_TRUE(fs::exists(cache.metadata_dir() / "Packages.xz"));
}

// The decompressed text of an index, keyed by the compressed file's hash
// (any 64-hex key: kOther here), checked against its own hash (kHello).
TEST(PackageCache, CommitsADecompressedIndexUnderTheCompressedHashReadOnly) {
  TempDir dir;
  PackageCache cache(dir.path(), CacheAccess::kBuild);
  const auto staging = cache.make_staging_area();
  write_file(staging.dir() / "Packages.text", "hello\n");
  const fs::path kept = cache.commit_index_text(staging.dir() / "Packages.text", kOther, kHello, 6);
  EXPECT_EQ(kept, cache.index_text_path(kOther));
  EXPECT_EQ(kept.parent_path(), cache.metadata_dir() / "indexes");
  EXPECT_FALSE(fs::exists(staging.dir() / "Packages.text"));
  std::ifstream in(kept);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "hello\n");
  EXPECT_EQ(fs::status(kept).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::group_read |
                                                                 fs::perms::others_read);
}

TEST(PackageCache, RefusesAnIndexTextWithAnotherHashOrSizeAndRemovesIt) {
  struct Case {
    const char* label;
    const char* text_sha256;
    std::uint64_t size;
  };
  for (const Case c : {Case{"hash", kOther, 6}, Case{"size", kHello, 7}}) {
    SCOPED_TRACE(c.label);
    TempDir dir;
    PackageCache cache(dir.path(), CacheAccess::kBuild);
    const auto staging = cache.make_staging_area();
    const fs::path staged = staging.dir() / "Packages.text";
    write_file(staged, "hello\n");
    try {
      cache.commit_index_text(staged, kOther, c.text_sha256, c.size);
      ADD_FAILURE() << "a mismatching index text was committed";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_NE(std::string(e.what()).find(staged.string()), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(staged));
    EXPECT_FALSE(fs::exists(cache.index_text_path(kOther)));
  }
}

TEST(PackageCache, ACommittedIndexTextReplacesACorruptCopy) {
  TempDir dir;
  PackageCache cache(dir.path(), CacheAccess::kBuild);
  const auto staging = cache.make_staging_area();
  fs::create_directories(cache.index_text_path(kOther).parent_path());
  write_file(cache.index_text_path(kOther), "hellO\n");
  fs::permissions(cache.index_text_path(kOther), fs::perms::owner_read);
  write_file(staging.dir() / "Packages.text", "hello\n");
  cache.commit_index_text(staging.dir() / "Packages.text", kOther, kHello, 6);
  std::ifstream in(cache.index_text_path(kOther));
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "hello\n");
}

}  // namespace
}  // namespace supervisor
