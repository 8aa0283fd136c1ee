// The indexed set of available binary packages from several repositories:
// candidates per name (best first) and providers per virtual name, as
// Debian Packages indexes describe them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stages/resolver/deb/control.hpp"
#include "stages/resolver/deb/index_text.hpp"
#include "stages/resolver/deb/relations.hpp"

namespace stage::resolver {

using PkgId = std::uint32_t;

struct Repository {
  std::string name;
  std::string base_url;  // a stanza's Filename is relative to it
  // Higher wins; within one priority the highest version wins; below zero
  // the repository is blocked (APT pinning semantics).
  int priority = 500;
  // When not empty only matching packages are indexed: exact names,
  // "name_version" / "name-version" prefixes, or globs (* ? [..]) on names.
  std::vector<std::string> allow_packages;
};

enum class MultiArch { kNo, kSame, kForeign, kAllowed };

// Provide and Package are views into the index texts their Universe keeps
// alive (valid as long as the Universe is), so indexing ~60k stanzas copies
// no field.
struct Provide {
  std::string_view name;
  std::string_view version;  // "" for an unversioned Provides
  std::string_view arch_qualifier;
};

struct Package {
  std::string_view name;
  std::string_view version;
  std::string_view architecture;  // as in the index: an architecture or "all"
  MultiArch multi_arch = MultiArch::kNo;
  bool essential = false;
  std::string_view priority;
  std::string_view filename;
  std::string_view sha256;
  std::uint64_t size = 0;
  std::uint32_t repo = 0;  // index into Universe::repositories()
  std::vector<Provide> provides;
  // Raw relation fields; Universe::relations() parses them on first use,
  // since a resolution looks at a few hundred of ~60k packages.
  std::string_view raw_pre_depends;
  std::string_view raw_depends;
  std::string_view raw_conflicts;
  std::string_view raw_breaks;
};

// "name version", for messages.
std::string name_version(const Package& p);

struct Relations {
  RelationList pre_depends;
  RelationList depends;
  RelationList conflicts;
  RelationList breaks;
};

// Hash and equality that accept std::string_view without a copy.
struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <typename T>
using NameMap = std::unordered_map<std::string, T, NameHash, std::equal_to<>>;
// Keyed by names that view into the Universe's index texts.
template <typename T>
using NameViewMap = std::unordered_map<std::string_view, T>;

// One virtual package provided by a real one.
struct ProviderRef {
  PkgId pkg;
  std::uint32_t provide;  // index into Package::provides
};

// Whether an allowPackages entry admits a package.
bool allow_pattern_matches(std::string_view pattern, std::string_view name, std::string_view version);
// fnmatch(3)-style glob on package names: * ? [..].
bool glob_matches(std::string_view pattern, std::string_view name);
bool is_glob(std::string_view pattern) noexcept;

class Universe {
 public:
  explicit Universe(std::string native_arch, std::vector<std::string> foreign_archs = {});

  std::uint32_t add_repository(Repository repo);
  // Adds the stanzas of one Packages index (one component, one architecture
  // or "all") of repository `repo`. Stanzas of other architectures are ignored.
  // The Universe keeps `text` alive: its packages view into it.
  void add_index(std::uint32_t repo, std::shared_ptr<const IndexText> text, std::string_view origin);
  // The same on a copy of `packages_text` (tests, small texts).
  void add_index(std::uint32_t repo, std::string_view packages_text, std::string_view origin);
  // `stanzas` are parse_packages_index(text->view(), ...): they view into `text`.
  void add_stanzas(std::uint32_t repo, std::shared_ptr<const IndexText> text, std::vector<PackageStanza> stanzas);

  const std::string& native_arch() const noexcept { return native_arch_; }
  const std::vector<Repository>& repositories() const noexcept { return repos_; }
  const std::vector<Package>& packages() const noexcept { return packages_; }
  const Package& package(PkgId id) const { return packages_[id]; }
  // The parsed relation fields of a package (parsed once, then cached; not
  // thread-safe). Throws base::Error (kInvalidInput) naming the package.
  const Relations& relations(PkgId id) const;

  // Real packages named `name`, best first: repository priority, version,
  // native before foreign architecture, repository order. Sorted lazily and
  // deterministically (independent of the order stanzas were added).
  std::span<const PkgId> candidates(std::string_view name) const;
  // Packages providing `name`, ordered by provider name, then as candidates().
  std::span<const ProviderRef> providers(std::string_view name) const;
  // Every real package name matching a glob, sorted.
  std::vector<std::string> names_matching(std::string_view glob) const;
  // Every real package name, sorted.
  std::vector<std::string> names() const;
  // Names whose best native candidate is Essential: yes (and, when
  // `with_required`, also those of Priority: required), sorted.
  std::vector<std::string> base_names(bool with_required) const;
  // Why a name has no candidates although some repository lists it:
  // "excluded by allowPackages of repository 'x'" or "blocked by priority ...".
  std::string exclusion_reason(std::string_view name) const;

 private:
  bool indexes_architecture(std::string_view arch) const;
  void add_stanza(std::uint32_t repo, const PackageStanza& s);
  void sort_indexes() const;
  bool better(PkgId a, PkgId b) const;

  std::string native_arch_;
  std::vector<std::string> foreign_archs_;
  std::vector<Repository> repos_;
  // What every view in packages_, by_name_ and by_provide_ points into.
  std::vector<std::shared_ptr<const IndexText>> texts_;
  std::vector<Package> packages_;
  mutable bool sorted_ = true;
  mutable NameViewMap<std::vector<PkgId>> by_name_;
  mutable NameViewMap<std::vector<ProviderRef>> by_provide_;
  mutable std::vector<std::unique_ptr<Relations>> relations_;
  std::map<std::string, std::string, std::less<>> excluded_;
};

}  // namespace stage::resolver
