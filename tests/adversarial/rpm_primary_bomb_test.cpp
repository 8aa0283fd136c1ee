// A decompression bomb in an unsigned RPM repository: emt3 publishes no
// repomd.xml.asc, so a man in the middle can serve a primary of a few KiB
// that expands to 64 MiB, with repomd's checksum and size made to match and
// its open-size (the real primary's) a lie (make-rpmrepo.sh --emt
// --primary-bomb). `lock` of an emt3 template pointed at that repository
// must stop the verifier while the text expands, name the index and its
// repository, and leave neither the text nor a lock behind.
#include <gmock/gmock.h>

#include "tests/fixtures/rpmrepo/rpmrepo.hpp"
#include "tests/repo/repo_harness.hpp"

namespace tests::repo {
namespace {

using ::testing::HasSubstr;

constexpr const char* kRepository = "emt-3.0-base";

// emt3 as shipped, its repository replaced by the fixture on 127.0.0.1,
// with the fixture's key shipped and pinned and repoGPGCheck off as emt3's.
void write_config_dir(const fs::path& root, const rpmrepo::RpmRepo& repo, int port) {
  const fs::path os_dir = root / "config/osv/edge-microvisor-toolkit/emt3";
  fs::create_directories(os_dir);
  fs::copy(fs::path(OIC_SOURCE_ROOT) / "config/osv/edge-microvisor-toolkit/emt3", os_dir,
           fs::copy_options::recursive);
  fs::copy_file(repo.key(), os_dir / "keys/RPM-GPG-KEY");
  write_file(os_dir / "providerconfigs/x86_64_repo.yml",
             std::string("repositories:\n  - name: ") + kRepository + "\n    type: rpm\n" +
                 "    baseURL: http://127.0.0.1:" + std::to_string(port) +
                 "\n    keyFiles: [keys/RPM-GPG-KEY]\n    keyFingerprints: [" + repo.fingerprint() +
                 "]\n    repoGPGCheck: false\n");
  write_file(root / "image.yml",
             "image:\n  name: bomb-test\n  version: \"1.0.0\"\n"
             "target:\n  os: edge-microvisor-toolkit\n  dist: emt3\n  arch: x86_64\n  imageType: raw\n"
             "systemConfig:\n  name: bomb-test\n  packages:\n    - app\n");
  write_file(root / "config.yml", "workers: 2\nconfig_dir: " + (root / "config").string() + "\ncache_dir: " +
                                      (root / "cache").string() + "\nwork_dir: " + (root / "work").string() +
                                      "\ntemp_dir: " + (root / "tmp").string() + "\n");
  fs::create_directories(root / "tmp");
}

// Files of the run (cache, workspace, temp) larger than `bytes`.
std::vector<std::string> files_over(const fs::path& root, std::uintmax_t bytes) {
  std::vector<std::string> out;
  for (const char* dir : {"cache", "work", "tmp"}) {
    if (!fs::exists(root / dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
      if (entry.is_regular_file() && entry.file_size() > bytes) out.push_back(entry.path().string());
    }
  }
  return out;
}

TEST(RpmPrimaryBomb, LockStopsTheVerifierAtTheListedOpenSizeAndKeepsNothing) {
  const debrepo::TempDir dir;
  const fs::path root = dir.path();
  const rpmrepo::RpmRepo repo = rpmrepo::make_small_rpmrepo(root / "fixture", {"--emt", "--primary-bomb"});
  fixtures::FaultHttpd httpd(repo.repo());
  write_config_dir(root, repo, httpd.port());

  const fs::path lock = root / "lock.json";
  const CliResult r = run_process({download_only_cli(), "--config", (root / "config.yml").string(), "lock",
                                   (root / "image.yml").string(), "-o", lock.string()},
                                  root / "cli");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("Failed to decompress index 'repodata/"));
  EXPECT_THAT(r.err, HasSubstr("primary.xml.xz' of repository '" + std::string(kRepository) + "'"));
  EXPECT_THAT(r.err, HasSubstr("its text passes the "));
  EXPECT_THAT(r.err, HasSubstr("bytes listed for 'repodata/"));
  EXPECT_FALSE(fs::exists(lock));
  // The open-size is ~16 KB: nothing near the bomb's 64 MiB was written.
  EXPECT_THAT(files_over(root, 1 << 20), ::testing::IsEmpty());
  const fs::path indexes = root / "cache/metadata/indexes";
  EXPECT_TRUE(!fs::exists(indexes) || fs::is_empty(indexes)) << "the bomb's text reached the metadata cache";
}

}  // namespace
}  // namespace tests::repo
