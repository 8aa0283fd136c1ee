// The lockfile: every package of a resolution pinned by URL and SHA-256, so
// later builds need no resolver and no index (JSON, sorted, deterministic).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stages/resolver/resolver.hpp"

namespace stage::resolver {

inline constexpr int kLockfileVersion = 1;

struct LockTarget {
  std::string os;
  std::string dist;
  std::string arch;
};

struct LockRepository {
  std::string name;
  std::string url;
  std::string suite;
  std::string key_fingerprint;  // "" for a trusted repository without a key
};

struct LockPackage {
  std::string name;
  std::string version;
  std::string architecture;
  std::string repository;
  std::string url;
  std::string filename;
  std::string sha256;
  std::uint64_t size = 0;

  friend bool operator==(const LockPackage&, const LockPackage&) = default;
};

struct Lockfile {
  int version = kLockfileVersion;
  LockTarget target;
  std::vector<LockRepository> repositories;
  std::vector<LockPackage> packages;
};

Lockfile make_lockfile(const Resolution& resolution, LockTarget target, std::vector<LockRepository> repositories);

// Pretty JSON with sorted keys, repositories sorted by name and packages by
// name then architecture. Validates like read_lockfile first.
std::string write_lockfile(const Lockfile& lockfile);

// Parses and validates every field; throws ipc::Error (kInvalidInput) naming
// `origin` and the field, also for an unknown lockfile version or field.
Lockfile read_lockfile(std::string_view text, std::string_view origin);

}  // namespace stage::resolver
