// RPM's FamilyChecks: repomd.xml (and its detached signature), then each
// index against its <data> entry (rpm/repository_check.*); and its
// PackageChecks: header signature, digests and file list (rpm/package_check.*,
// rpm/archive_check.*). RPM packages are
// checked by their own header signatures (PackageChecks, family.hpp), never
// through check_package_archive.
#include "base/error.hpp"
#include "stages/verifier/family.hpp"
#include "stages/verifier/rpm/archive_check.hpp"
#include "stages/verifier/rpm/package_check.hpp"
#include "stages/verifier/rpm/repository_check.hpp"

namespace stage::verifier {
namespace {

class RpmChecks final : public FamilyChecks {
 public:
  CheckedRepository check_repository(RepositoryInput& repo, ipc::StageContext& context,
                                     const FileChecked& done) const override {
    return rpm::check_rpm_repository(repo, context, done);
  }

  // The file list of the main header (the payload's cpio lies about owners
  // and lacks %dev and %ghost entries); the stage checks RPM packages through
  // RpmPackageChecks, which also has the keys.
  void check_package_archive(int fd, std::string_view name) const override {
    const std::string what = "package '" + std::string(name) + "'";
    rpm::check_file_list(rpm::read_package(fd, what).main, what);
  }
};

// Each package's header signature, header digest and payload digest, then
// (when asked) the file list its signed header holds.
class RpmPackageChecks final : public PackageChecks {
 public:
  explicit RpmPackageChecks(std::vector<RepositoryKeys> keys) : checker_(std::move(keys)) {}

  void check_package(int fd, std::string_view name, std::string_view repo, bool check_archive) const override {
    const rpm::Package package = checker_.check(fd, name, repo);
    if (check_archive) {
      rpm::check_file_list(package.main,
                           "package '" + std::string(name) + "' from repository '" + std::string(repo) + "'");
    }
  }

 private:
  rpm::PackageChecker checker_;
};

}  // namespace

const FamilyChecks& rpm_checks() {
  static const RpmChecks checks;
  return checks;
}

std::unique_ptr<PackageChecks> rpm_package_checks(std::vector<RepositoryKeys> keys) {
  return std::make_unique<RpmPackageChecks>(std::move(keys));
}

}  // namespace stage::verifier
