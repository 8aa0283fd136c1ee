// Step 5 of the image build (docs/os-configuration.md): an SPDX 2.3 JSON
// document listing every package installed in the tree, as the package
// family's database records it (PackageInstaller::installed()), with the
// package file's URL and sha256 from the request and the licences the package
// declares in its machine-readable copyright file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/stage.capnp.h"
#include "stages/installer/package_installer.hpp"

namespace stage::installer {

// `source_date_epoch` >= 0 fixes the creation time (reproducible builds);
// otherwise it is now. The same tree and request give the same document.
std::string make_spdx_sbom(const std::filesystem::path& root, ipc::proto::InstallerRequest::Reader request,
                           std::vector<TreePackage> installed, std::int64_t source_date_epoch);

// ---- the pieces (tested on their own) ----

// The "License:" short names of a DEP-5 copyright file, in order, once each;
// empty when the file is not machine-readable.
std::vector<std::string> copyright_licenses(std::string_view copyright);

// An SPDX licence expression for Debian short names: known names become SPDX
// identifiers, others LicenseRef-<name> (collected into `refs`).
std::string spdx_license_expression(const std::vector<std::string>& debian_names, std::vector<std::string>& refs);

// "2024-01-02T03:04:05Z".
std::string spdx_timestamp(std::int64_t unix_seconds);

// pkg:<type>/<vendor>/<name>@<version>?arch=<arch>[&distro=<distro>], percent-encoded;
// `type` is the distribution's purl type, "deb" or "rpm" (provider config.yml).
std::string package_purl(std::string_view type, std::string_view vendor, const TreePackage& package,
                         std::string_view distro);

}  // namespace stage::installer
