// Choosing packages: a breadth-first walk from the requested roots that, for
// each unsatisfied relation group, takes the first candidate (alternatives in
// order, best version first, then providers) that clashes with nothing chosen.
#include <algorithm>
#include <deque>
#include <optional>
#include <unordered_map>

#include "base/error.hpp"
#include "stages/resolver/deb/resolver.hpp"
#include "stages/resolver/deb/selector.hpp"

namespace stage::resolver {
namespace {

std::string_view effective_arch(std::string_view arch, std::string_view native) {
  return arch == "all" ? native : arch;
}

}  // namespace

// dpkg's deparchsatisfied(): whether `target` can satisfy a relation with
// `qualifier` written in a package of `depender_arch`.
bool Selector::arch_ok(const Package& target, const std::string& qualifier, std::string_view depender_arch,
                       RelKind kind) const {
  if (qualifier.empty() && target.multi_arch == MultiArch::kForeign) return true;
  if (qualifier == "any") return target.multi_arch == MultiArch::kAllowed || kind == RelKind::kConflicts;
  const std::string_view native = u_.native_arch();
  std::string_view want = qualifier.empty() ? depender_arch : qualifier == "native" ? native : qualifier;
  return effective_arch(want, native) == effective_arch(target.architecture, native);
}

bool Selector::real_matches(const Relation& rel, PkgId id, std::string_view arch, RelKind kind) const {
  const Package& p = u_.package(id);
  return p.name == rel.name && version_satisfies(p.version, rel.op, rel.version) &&
         arch_ok(p, rel.arch_qualifier, arch, kind);
}

// A virtual package satisfies an unversioned relation; a versioned relation
// only through a versioned Provides.
bool Selector::provide_matches(const Relation& rel, ProviderRef ref, std::string_view arch, RelKind kind) const {
  const Package& p = u_.package(ref.pkg);
  const Provide& pv = p.provides[ref.provide];
  if (pv.name != rel.name) return false;
  if (rel.op != RelOp::kAny && (pv.version.empty() || !version_satisfies(pv.version, rel.op, rel.version))) {
    return false;
  }
  return arch_ok(p, rel.arch_qualifier, arch, kind);
}

std::optional<PkgId> Selector::chosen_match(const Relation& rel, std::string_view arch, RelKind kind,
                                            std::optional<PkgId> except) const {
  if (auto it = chosen_by_name_.find(rel.name); it != chosen_by_name_.end()) {
    for (PkgId id : it->second) {
      if (id != except && real_matches(rel, id, arch, kind)) return id;
    }
  }
  if (auto it = chosen_provides_.find(rel.name); it != chosen_provides_.end()) {
    for (ProviderRef ref : it->second) {
      if (ref.pkg != except && provide_matches(rel, ref, arch, kind)) return ref.pkg;
    }
  }
  return std::nullopt;
}

std::optional<PkgId> Selector::satisfied_by_chosen(const Alternatives& group, std::string_view arch) const {
  for (const Relation& rel : group) {
    if (auto id = chosen_match(rel, arch, RelKind::kDepends, std::nullopt)) return id;
  }
  return std::nullopt;
}

std::vector<PkgId> Selector::candidates_for(const Relation& rel, std::string_view arch) const {
  std::vector<PkgId> out;
  for (PkgId id : u_.candidates(rel.name)) {
    if (real_matches(rel, id, arch, RelKind::kDepends)) out.push_back(id);
  }
  for (ProviderRef ref : u_.providers(rel.name)) {
    if (provide_matches(rel, ref, arch, RelKind::kDepends) &&
        std::find(out.begin(), out.end(), ref.pkg) == out.end()) {
      out.push_back(ref.pkg);
    }
  }
  return out;
}

std::string Selector::describe(PkgId id) const {
  const Package& p = u_.package(id);
  std::string out = name_version(p);
  auto it = origin_.find(id);
  if (it == origin_.end()) return out;
  if (it->second.parent) return out + " (required by " + std::string(u_.package(*it->second.parent).name) + ")";
  return out + " (requested as '" + it->second.root_spec + "')";
}

std::optional<std::string> Selector::conflict_with_chosen(PkgId c) const {
  const Package& p = u_.package(c);
  const Relations& rels = u_.relations(c);
  for (const auto* list : {&rels.conflicts, &rels.breaks}) {
    const char* verb = list == &rels.conflicts ? " conflicts with " : " breaks ";
    for (const Alternatives& group : *list) {
      for (const Relation& rel : group) {
        if (auto other = chosen_match(rel, p.architecture, RelKind::kConflicts, c)) {
          return name_version(p) + verb + rel.to_string() + ", and " + describe(*other) + " is selected";
        }
      }
    }
  }
  // The other direction: a chosen package's Conflicts/Breaks naming c or what it provides.
  auto check_name = [&](std::string_view name, std::optional<ProviderRef> via) -> std::optional<std::string> {
    auto it = chosen_conflicts_.find(name);
    if (it == chosen_conflicts_.end()) return std::nullopt;
    for (const ChosenConflict& cc : it->second) {
      if (cc.by == c) continue;
      const std::string_view arch = u_.package(cc.by).architecture;
      const bool hit = via ? provide_matches(*cc.rel, *via, arch, RelKind::kConflicts)
                           : real_matches(*cc.rel, c, arch, RelKind::kConflicts);
      if (hit) {
        return describe(cc.by) + (cc.breaks ? " breaks " : " conflicts with ") + cc.rel->to_string() +
               ", which " + name_version(p) + " matches";
      }
    }
    return std::nullopt;
  };
  if (auto why = check_name(p.name, std::nullopt)) return why;
  for (std::uint32_t i = 0; i < p.provides.size(); ++i) {
    if (auto why = check_name(p.provides[i].name, ProviderRef{c, i})) return why;
  }
  return std::nullopt;
}

// Why `c` cannot join the chosen set, or nullopt when it can.
std::optional<std::string> Selector::why_not_selectable(PkgId c) const {
  const Package& p = u_.package(c);
  if (excluded_.count(p.name)) return std::string(p.name) + " is excluded by the request";
  if (auto it = chosen_by_name_.find(p.name); it != chosen_by_name_.end()) {
    for (PkgId other : it->second) {
      if (other == c) return std::nullopt;
      const Package& o = u_.package(other);
      // Only Multi-Arch: same packages of one version coexist, one per architecture.
      const bool coinstallable = p.multi_arch == MultiArch::kSame && o.multi_arch == MultiArch::kSame &&
                                 o.version == p.version && o.architecture != p.architecture;
      if (!coinstallable) {
        return name_version(p) + " cannot be selected because " + describe(other) + " already is";
      }
    }
  }
  return conflict_with_chosen(c);
}

void Selector::select(PkgId id, Origin origin) {
  const Package& p = u_.package(id);
  chosen_by_name_[std::string(p.name)].push_back(id);
  for (std::uint32_t i = 0; i < p.provides.size(); ++i) {
    chosen_provides_[std::string(p.provides[i].name)].push_back({id, i});
  }
  const Relations& rels = u_.relations(id);
  for (const auto* list : {&rels.conflicts, &rels.breaks}) {
    for (const Alternatives& group : *list) {
      for (const Relation& rel : group) {
        chosen_conflicts_[rel.name].push_back(ChosenConflict{id, &rel, list == &rels.breaks});
      }
    }
  }
  origin_.emplace(id, std::move(origin));
  chosen_.push_back(id);
  queue_.push_back(id);
}

std::optional<PkgId> Selector::choose(const Alternatives& group, std::string_view arch) const {
  for (const Relation& rel : group) {
    if (!rel.applies_to(arch)) continue;
    for (PkgId c : candidates_for(rel, arch)) {
      if (!why_not_selectable(c)) return c;
    }
  }
  return std::nullopt;
}

}  // namespace stage::resolver
