// The lockfile: every package of a build pinned by name, version,
// architecture, repository, URL, sha256 and size. `lock` writes it and
// `build --lockfile` builds from it with no index download and no
// resolution. JSON, sorted, so the same resolution gives the same bytes.
//
// Format 2 names the package family ("family": "deb") and keeps what only
// that family has in a section named after it ("deb": suite and components
// of a repository, essential and preDepends of a package); format 1 (before
// families, every field flat) is still read, as family "deb". Family "rpm"
// has no section: everything it locks is shared (versions "epoch:ver-rel").
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace supervisor {

inline constexpr int kLockfileFormat = 2;
inline constexpr int kOldestLockfileFormat = 1;

// A repository's "deb" section.
struct DebRepositoryFields {
  std::string suite;
  std::vector<std::string> components;
  bool operator==(const DebRepositoryFields&) const = default;
};

struct LockedRepository {
  std::string name;
  std::string url;
  std::string signer_fingerprint;  // empty for [trusted=yes] repositories
  DebRepositoryFields deb;
  // The signed metadata's date (Release Date, repomd revision), unix seconds;
  // -1 when it has none or the lockfile predates the field. The newest is
  // the build's default time (reproducible.hpp).
  std::int64_t date = -1;
  bool operator==(const LockedRepository&) const = default;
};

// A package's "deb" section.
struct DebPackageFields {
  bool essential = false;
  std::vector<std::string> pre_depends;
  bool operator==(const DebPackageFields&) const = default;
};

struct LockedPackage {
  std::string name;
  std::string version;
  std::string architecture;
  std::string repository;
  std::string url;
  std::string filename;
  std::string sha256;
  std::uint64_t size = 0;
  std::string source;  // essential | kernel | bootloader | system | dependency
  DebPackageFields deb;
  bool operator==(const LockedPackage&) const = default;
};

struct Lockfile {
  int format = kLockfileFormat;
  std::string family = "deb";  // the provider's pkgType
  std::string provider_id;  // <os>-<dist>-<arch>
  std::string os, dist, arch;
  std::vector<LockedRepository> repositories;
  std::vector<LockedPackage> packages;     // sorted by name
  std::vector<std::string> install_order;  // package names
  bool operator==(const Lockfile&) const = default;
};

std::string lockfile_to_json(const Lockfile& lock);
// Throws base::Error (kInvalidInput) naming `origin` and the bad field.
Lockfile lockfile_from_json(std::string_view text, std::string_view origin);

// A repository of `now` that `previous` (the lockfile `origin` being
// replaced) records as signed by another key: throws base::Error
// (kInvalidInput) naming both fingerprints. Repositories new to `now`, or
// unsigned in either, pass.
void require_same_signers(const Lockfile& previous, const Lockfile& now, std::string_view origin);

// A package's file name (from an index, through the resolver, or from a
// lockfile) must name a file inside its repository: a relative path of plain
// components, no "..", no URL, query or fragment, no control characters.
// Throws base::Error (kInvalidInput) naming `where`.
void require_path_inside_repository(const std::string& filename, const std::string& where);

// Written to a temporary name beside `path`, then renamed.
void write_lockfile(const std::filesystem::path& path, const Lockfile& lock);
Lockfile read_lockfile(const std::filesystem::path& path);

}  // namespace supervisor
