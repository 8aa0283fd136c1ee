#include "supervisor/family.hpp"

#include "base/error.hpp"
#include "supervisor/deb/family.hpp"

namespace supervisor {

const PackageFamily& family_for(const config::ProviderData& provider) {
  switch (provider.package_type) {
    case config::PackageType::kDeb: return deb::family();
    case config::PackageType::kRpm: break;
  }
  throw base::Error(base::ErrorKind::kInvalidInput,
                   "provider '" + provider.id + "' uses RPM packages, which this build cannot install yet");
}

const PackageFamily& family_named(std::string_view name) {
  if (name == deb::family().name()) return deb::family();
  throw base::Error(base::ErrorKind::kInvalidInput,
                   "package family '" + std::string(name) + "' is not one this build installs");
}

}  // namespace supervisor
