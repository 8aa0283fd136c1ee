// RPM's PackageChecks: header signature, digests and file list
// (rpm/package_check.*, rpm/archive_check.*).
#include "base/error.hpp"
#include "stages/verifier/family.hpp"
#include "stages/verifier/rpm/archive_check.hpp"
#include "stages/verifier/rpm/package_check.hpp"

namespace stage::verifier {
namespace {

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

std::unique_ptr<PackageChecks> rpm_package_checks(std::vector<RepositoryKeys> keys) {
  return std::make_unique<RpmPackageChecks>(std::move(keys));
}

}  // namespace stage::verifier
