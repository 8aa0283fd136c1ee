// Debian's FamilyChecks: the Release (signature, suite, architectures,
// components, dates), each index against the Release's SHA256 list, and
// the .deb's ar and tar members.
#include <unistd.h>

#include <cerrno>

#include "base/error.hpp"
#include "stages/verifier/deb/archive_check.hpp"
#include "stages/verifier/deb/index_check.hpp"
#include "stages/verifier/family.hpp"
#include "stages/verifier/file_bytes.hpp"

namespace stage::verifier {
namespace {

Release verify_release_files(RepositoryInput& repo) {
  const std::string where = " of repository '" + repo.request.repository + "'";
  Release release;
  std::string file;
  if (repo.inrelease) {
    file = "InRelease";
    release = verify_release(read_fd_bytes(repo.inrelease.get(), file + where), repo.request);
  } else {
    file = "Release";
    release = verify_release_detached(read_fd_bytes(repo.release.get(), "Release" + where),
                                      read_fd_bytes(repo.signature.get(), "Release.gpg" + where),
                                      repo.request);
  }
  // The library checks one architecture per call; the signed text is parsed
  // once and only the cheap field checks repeat.
  for (const auto& arch : repo.architectures) {
    repo.request.architecture = arch;
    check_release(release, repo.request, file);
  }
  return release;
}

// Checks one index; with an output fd, hands on its decompressed text
// unless the cached copy (checked against the Release) makes that needless.
VerifiedIndex verify_index(const Release& release, const IndexInput& index, const std::string& repo,
                           const std::string& what) {
  const std::string cached_name = "the cached uncompressed copy of " + what;
  const IndexTextOptions options{
      .text_fd = index.uncompressed_out.get(), .cached_fd = index.cached.get(), .cached_name = cached_name};
  const IndexText text =
      check_index_text(release, index.relative_path, read_fd_bytes(index.fd.get(), what), repo, options);
  return {repo, index.relative_path, text.digest, text.source, text.listed, text.cache_refusal};
}

class DebChecks final : public FamilyChecks {
 public:
  CheckedRepository check_repository(RepositoryInput& repo, ipc::StageContext& context,
                                     const FileChecked& done) const override {
    const std::string& name = repo.request.repository;
    CheckedRepository out;
    out.release = verify_release_files(repo);
    // What the Release lists, so that indexes are fetched by the hash it
    // gives (by-hash) before they are checked here against it once more.
    for (const ReleaseFile& file : out.release.sha256) {
      out.listed_files.push_back({"", file.path, {file.sha256, file.size}, std::nullopt});
    }
    done(name, 0);
    for (const auto& index : repo.indexes) {
      context.check_cancelled();
      const std::string what = "index '" + index.relative_path + "' of repository '" + name + "'";
      out.indexes.push_back(verify_index(out.release, index, name, what));
      done(index.relative_path, out.indexes.back().digest.size);
    }
    return out;
  }

  void check_package_archive(int fd, std::string_view name) const override { check_deb_fd(fd, name); }
};

}  // namespace

const FamilyChecks& deb_checks() {
  static const DebChecks checks;
  return checks;
}

}  // namespace stage::verifier
