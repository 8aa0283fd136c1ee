#include "supervisor/family.hpp"

#include "base/error.hpp"
#include "supervisor/deb/family.hpp"
#include "supervisor/rpm/family.hpp"

namespace supervisor {

const PackageFamily& family_for(const config::ProviderData& provider) {
  switch (provider.package_type) {
    case config::PackageType::kDeb: return deb::family();
    case config::PackageType::kRpm: return rpm::family();
  }
  throw base::Error(base::ErrorKind::kInvalidInput,
                   "provider '" + provider.id + "' uses a package type this build does not know");
}

const PackageFamily& family_named(std::string_view name) {
  if (name == deb::family().name()) return deb::family();
  if (name == rpm::family().name()) return rpm::family();
  throw base::Error(base::ErrorKind::kInvalidInput,
                   "package family '" + std::string(name) + "' is not one this build installs");
}

}  // namespace supervisor
