// What differs between package families inside the verifier, behind one
// small interface (the shape of OpenSSH's ssh-sandbox.h: this header, one
// implementation per family beside it in a subfolder): how a repository's
// signed metadata and its index files are checked, and what a package
// archive may contain. Shared by every family and not behind it:
// signatures (signature.*), GnuPG homes (gpg_home.*), SHA-256 and the
// package hash check (checksums.*), and the stage's threads, progress and
// cancellation (verifier_stage.cpp).
//
// Debian's implementation is deb/. RepositoryInput and Release are still
// Debian's (the request has no family variant yet); another family brings
// its variant of both with its request.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/stage_main.hpp"
#include "stages/verifier/verifier_stage.hpp"

namespace stage::verifier {

// One file checked: what it is (an item of the progress) and its size.
using FileChecked = std::function<void(const std::string& item, std::uint64_t bytes)>;

struct CheckedRepository {
  Release release;
  std::vector<VerifiedIndex> indexes;  // in request order
  std::vector<ListedFile> listed_files;  // every file the signed metadata lists
};

class FamilyChecks {
 public:
  virtual ~FamilyChecks() = default;

  // Verifies the repository's signed metadata with its own keys, then each
  // of its index files against that metadata; reports every file to `done`
  // and checks `context` for cancellation between files. Called on several
  // threads at once, one repository each. Throws base::Error naming the
  // repository and the file.
  virtual CheckedRepository check_repository(RepositoryInput& repo, ipc::StageContext& context,
                                             const FileChecked& done) const = 0;

  // Throws base::Error (kInvalidInput) naming `name`, the part and the member
  // when the package archive open at `fd` (read from offset 0) is not safe
  // to unpack.
  virtual void check_package_archive(int fd, std::string_view name) const = 0;
};

// Debian: InRelease or Release + Release.gpg, Packages indexes, .deb files.
const FamilyChecks& deb_checks();

// What a package file of a family whose packages are signed themselves must
// show beyond its hash in the index; made from the request's keys.
class PackageChecks {
 public:
  virtual ~PackageChecks() = default;

  // Throws base::Error (kInvalidInput) naming `name` and `repo` when the
  // package open at `fd` is not vouched for by one of `repo`'s keys, or
  // (check_archive) its contents are not safe to unpack. Called on several
  // threads at once.
  virtual void check_package(int fd, std::string_view name, std::string_view repo,
                             bool check_archive) const = 0;
};

// RPM: the header signature by a key of the package's repository, the
// header and payload digests, and (check_archive) the header's file list.
std::unique_ptr<PackageChecks> rpm_package_checks(std::vector<RepositoryKeys> keys);
// RPM: repodata/repomd.xml (+ repomd.xml.asc), primary and filelists.
const FamilyChecks& rpm_checks();

}  // namespace stage::verifier
