// Dependency resolution over a Universe with Debian semantics: Depends,
// Pre-Depends, alternatives, versioned relations, (versioned) Provides,
// Conflicts, Breaks, Multi-Arch, the essential base set, repository
// priorities, pins and globs. Greedy and deterministic; see docs/resolver.md.
// Debian's in truth, with the Universe, selection rules and order beside it
// (Multi-Arch, Essential, Provides, Breaks and Pre-Depends are dpkg's): the
// RPM family brings libsolv behind solver.hpp instead of sharing this core.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stages/resolver/deb/universe.hpp"

namespace stage::resolver {

// Why a package is in the image. Earlier reasons win when a package is
// requested twice (essential > kernel = bootloader > system).
enum class Reason { kEssential, kKernel, kBootloader, kSystem, kDependency };
std::string_view to_string(Reason reason) noexcept;

// The automatic base set, like mmdebstrap's variants.
enum class BaseSet {
  kNone,       // only what is requested (mmdebstrap "custom")
  kEssential,  // every "Essential: yes" package ("essential")
  kRequired,   // plus every "Priority: required" package ("minbase")
};

// One requested package: "name", "name:arch", "name_version" (exact pin),
// or a glob on names ("lib*-dev": every matching package). `op`/`version`
// add a constraint (e.g. ">= 1.2") to the name or to every glob match.
struct Request {
  std::string spec;
  Reason reason = Reason::kSystem;
  RelOp op = RelOp::kAny;
  std::string version;
};

struct ResolveOptions {
  BaseSet base = BaseSet::kNone;
  std::vector<std::string> essential;  // an explicit essential list (chroot env)
  std::vector<Request> requests;       // kernel, bootloader and system packages
  std::vector<std::string> excluded;   // never chosen, also not as a provider
};

struct ResolvedPackage {
  std::string name;
  std::string version;
  std::string architecture;
  std::string repository;
  std::string url;  // repository base URL + "/" + Filename
  std::string filename;
  std::string sha256;
  std::uint64_t size = 0;
  Reason reason = Reason::kDependency;
  bool essential = false;  // the index says "Essential: yes"
  std::string required_by;  // the package that pulled it in; "" for roots
  // Indices into Resolution::packages of what satisfies its relations.
  std::vector<std::size_t> pre_depends;
  std::vector<std::size_t> depends;
};

struct Resolution {
  std::vector<ResolvedPackage> packages;  // sorted by name, then architecture
  // Indices into packages: what is pre-depended on or depended on comes first;
  // dependency cycles are broken deterministically (Tarjan SCCs, then
  // Pre-Depends inside a cycle, then name).
  std::vector<std::size_t> install_order;
};

// Throws one base::Error (kInvalidInput) when a request cannot be satisfied,
// with the chain from the requested package to the failing relation.
Resolution resolve(const Universe& universe, const ResolveOptions& options);

// Fills install_order from the pre_depends/depends edges.
std::vector<std::size_t> installation_order(const std::vector<ResolvedPackage>& packages);

struct DotOptions {
  // Only the requested system packages and what they pull in
  // (the reference's --system-packages-only).
  bool system_packages_only = false;
};

// Graphviz graph of the resolution, nodes coloured by reason.
std::string write_dot(const Resolution& resolution, const DotOptions& options = {});

}  // namespace stage::resolver
