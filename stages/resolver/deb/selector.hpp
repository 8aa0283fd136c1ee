// Internal to the resolver: the state of one resolution (chosen packages and
// what they provide and conflict with) and the rules that extend it.
#pragma once

#include <deque>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stages/resolver/deb/resolver.hpp"
#include "stages/resolver/deb/universe.hpp"

namespace stage::resolver {

enum class RelKind { kDepends, kConflicts };

class Selector {
 public:
  Selector(const Universe& universe, const std::vector<std::string>& excluded)
      : u_(universe), excluded_(excluded.begin(), excluded.end()) {}

  // Selects what the request names unless something chosen already
  // satisfies it. Throws the unsatisfiable-request Error.
  void select_root(const Request& request);
  // Follows Pre-Depends and Depends of everything selected until closed.
  void expand();
  Resolution result() const;

 private:
  struct Origin {
    std::optional<PkgId> parent;  // nullopt for a root
    std::string relation;         // the group text that pulled it in
    bool pre_depends = false;
    Reason reason = Reason::kDependency;
    std::string root_spec;
  };
  struct ChosenConflict {
    PkgId by;
    const Relation* rel;
    bool breaks;
  };

  bool arch_ok(const Package& target, const std::string& qualifier, std::string_view depender_arch,
               RelKind kind) const;
  bool real_matches(const Relation& rel, PkgId id, std::string_view arch, RelKind kind) const;
  bool provide_matches(const Relation& rel, ProviderRef ref, std::string_view arch, RelKind kind) const;
  std::optional<PkgId> chosen_match(const Relation& rel, std::string_view arch, RelKind kind,
                                    std::optional<PkgId> except) const;
  std::optional<PkgId> satisfied_by_chosen(const Alternatives& group, std::string_view arch) const;
  std::vector<PkgId> candidates_for(const Relation& rel, std::string_view arch) const;
  std::optional<std::string> conflict_with_chosen(PkgId c) const;
  std::optional<std::string> why_not_selectable(PkgId c) const;
  std::optional<PkgId> choose(const Alternatives& group, std::string_view arch) const;
  void select(PkgId id, Origin origin);
  void resolve_group(PkgId depender, const Alternatives& group, bool pre);

  std::string describe(PkgId id) const;
  std::string explain(const Relation& rel, std::string_view arch) const;
  std::string explain(const Alternatives& group, std::string_view arch) const;
  std::string chain_to(PkgId id) const;
  std::string root_spec_of(PkgId id) const;

  const Universe& u_;
  std::set<std::string, std::less<>> excluded_;
  NameMap<std::vector<PkgId>> chosen_by_name_;
  NameMap<std::vector<ProviderRef>> chosen_provides_;
  NameMap<std::vector<ChosenConflict>> chosen_conflicts_;
  std::unordered_map<PkgId, Origin> origin_;
  std::vector<PkgId> chosen_;
  std::deque<PkgId> queue_;
};

}  // namespace stage::resolver
