// What rpm's installer says to rpm and reads back, without running it:
// the command lines of the transactions, the rpmdb listing parsed into
// TreePackage, and the package an rpm error names. Pure, unit-tested.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "stages/installer/package_installer.hpp"

namespace stage::installer {

inline constexpr const char* kRpmProgram = "/usr/bin/rpm";
inline constexpr const char* kRpmKeysProgram = "/usr/bin/rpmkeys";

// The rpmdb path of the request: absolute, normalised, no "..". Throws
// base::Error(kInvalidInput) naming packageFamily.rpm.dbPath otherwise.
std::string checked_db_path(std::string_view db_path);

// `program` --root ROOT --dbpath DB --noplugins: every rpm call on the tree.
std::vector<std::string> rpm_argv(const char* program, const std::filesystem::path& root, const std::string& db_path);

// One `rpm -i` transaction over `files`; deferred ones run no scriptlets
// and fire no triggers.
std::vector<std::string> rpm_install_argv(const std::filesystem::path& root, const std::string& db_path,
                                          const std::vector<std::string>& files, bool deferred);

// The query format installed() asks for, one package per line.
inline constexpr const char* kRpmQueryFormat =
    "%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{VENDOR}\\t%{PACKAGER}\\n";

// Parses `rpm -qa --qf kRpmQueryFormat`: imported keys (gpg-pubkey) are not
// packages, "0:" epochs are left out, the maintainer is the vendor or else
// the packager. Sorted by name. Throws on a malformed line.
std::vector<TreePackage> parse_rpm_query(std::string_view text);

// The first package (name-version-release.arch) rpm's errors name: "error:
// P: install failed", "%post(P) scriptlet failed", "is needed by P", "package P is already
// installed"...; empty when none is named.
std::string package_named_by_rpm(std::string_view rpm_errors);

}  // namespace stage::installer
