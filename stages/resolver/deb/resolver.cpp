// Roots, the expansion loop, error messages and the result of a resolution.
#include "stages/resolver/deb/resolver.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "stages/resolver/deb/deb_version.hpp"
#include "stages/resolver/deb/selector.hpp"

namespace stage::resolver {
namespace {

[[noreturn]] void fail_request(const std::string& spec, const std::string& why) {
  base::fail(base::ErrorKind::kInvalidInput, "cannot satisfy '" + spec + "': " + why);
}

// "name", "name:arch", "name_version", "name:arch_version" as one relation.
Relation relation_from_spec(const std::string& spec) {
  Relation rel;
  std::string_view s = spec;
  if (auto us = s.find('_'); us != std::string_view::npos) {
    rel.op = RelOp::kEqual;
    rel.version = s.substr(us + 1);
    s = s.substr(0, us);
    if (!is_valid_version(rel.version)) fail_request(spec, "'" + rel.version + "' is not a valid version");
  }
  if (auto colon = s.find(':'); colon != std::string_view::npos) {
    rel.arch_qualifier = s.substr(colon + 1);
    s = s.substr(0, colon);
  }
  rel.name = s;
  if (rel.name.empty()) fail_request(spec, "no package name");
  return rel;
}

std::string join_url(const std::string& base, std::string_view filename) {
  std::string url = base;
  if (!base.empty() && base.back() != '/') url += '/';
  return url.append(filename);
}

}  // namespace

std::string_view to_string(Reason reason) noexcept {
  switch (reason) {
    case Reason::kEssential: return "essential";
    case Reason::kKernel: return "kernel";
    case Reason::kBootloader: return "bootloader";
    case Reason::kSystem: return "system";
    case Reason::kDependency: return "dependency";
  }
  return "dependency";
}

void Selector::select_root(const Request& request) {
  const std::string& spec = request.spec;
  if (is_glob(spec)) {
    const std::vector<std::string> names = u_.names_matching(spec);
    if (names.empty()) fail_request(spec, "no package name matches the pattern");
    for (const std::string& name : names) select_root(Request{name, request.reason, request.op, request.version});
    return;
  }
  Relation rel = relation_from_spec(spec);
  if (request.op != RelOp::kAny) {
    if (rel.op != RelOp::kAny) fail_request(spec, "a pinned version cannot take a second constraint");
    if (!is_valid_version(request.version)) fail_request(spec, "'" + request.version + "' is not a valid version");
    rel.op = request.op;
    rel.version = request.version;
  }
  const Reason reason = request.reason;
  const Alternatives group{rel};
  const std::string& native = u_.native_arch();
  if (satisfied_by_chosen(group, native)) return;
  auto pick = choose(group, native);
  if (!pick) fail_request(spec, explain(rel, native));
  select(*pick, Origin{std::nullopt, spec, false, reason, spec});
}

void Selector::resolve_group(PkgId depender, const Alternatives& group, bool pre) {
  const std::string_view arch = u_.package(depender).architecture == "all" ? u_.native_arch()
                                                                             : u_.package(depender).architecture;
  if (std::none_of(group.begin(), group.end(), [&](const Relation& r) { return r.applies_to(arch); })) return;
  if (satisfied_by_chosen(group, arch)) return;
  if (auto pick = choose(group, arch)) {
    select(*pick, Origin{depender, to_string(group), pre, Reason::kDependency, {}});
    return;
  }
  const Package& p = u_.package(depender);
  std::string why = chain_to(depender);
  if (!why.empty()) why += "; ";
  why += name_version(p) + (pre ? " pre-depends on " : " depends on ") + to_string(group) + "; " +
         explain(group, arch);
  fail_request(root_spec_of(depender), why);
}

void Selector::expand() {
  while (!queue_.empty()) {
    const PkgId id = queue_.front();
    queue_.pop_front();
    const Relations& rel = u_.relations(id);
    for (const Alternatives& group : rel.pre_depends) resolve_group(id, group, true);
    for (const Alternatives& group : rel.depends) resolve_group(id, group, false);
  }
}

std::string Selector::root_spec_of(PkgId id) const {
  const Origin* o = &origin_.at(id);
  while (o->parent) o = &origin_.at(*o->parent);
  return o->root_spec;
}

// "a 1 depends on b; b 2 depends on c" from the root down to `id`.
std::string Selector::chain_to(PkgId id) const {
  std::vector<std::string> steps;
  for (const Origin* o = &origin_.at(id); o->parent; o = &origin_.at(*o->parent)) {
    const Package& parent = u_.package(*o->parent);
    steps.push_back(name_version(parent) + (o->pre_depends ? " pre-depends on " : " depends on ") + o->relation);
  }
  std::reverse(steps.begin(), steps.end());
  std::string out;
  for (const std::string& s : steps) out += (out.empty() ? "" : "; ") + s;
  return out;
}

std::string Selector::explain(const Alternatives& group, std::string_view arch) const {
  std::string out;
  for (const Relation& rel : group) {
    if (!rel.applies_to(arch)) continue;
    if (!out.empty()) out += "; ";
    out += explain(rel, arch);
  }
  return out;
}

std::string Selector::explain(const Relation& rel, std::string_view arch) const {
  const auto real = u_.candidates(rel.name);
  const auto virt = u_.providers(rel.name);
  if (real.empty() && virt.empty()) {
    std::string why = "no package '" + rel.name + "' is available";
    if (auto reason = u_.exclusion_reason(rel.name); !reason.empty()) why += " (" + reason + ")";
    return why;
  }
  const std::vector<PkgId> fitting = candidates_for(rel, arch);
  if (!fitting.empty()) return *why_not_selectable(fitting.front());
  // Nothing fits: say which rule rejected the best candidate.
  for (PkgId id : real) {
    const Package& p = u_.package(id);
    if (!arch_ok(p, rel.arch_qualifier, arch, RelKind::kDepends)) continue;
    return "the newest " + rel.name + " available is " + std::string(p.version) + " in repository '" +
           u_.repositories()[p.repo].name + "'";
  }
  if (!real.empty()) {
    const Package& p = u_.package(real.front());
    if (rel.arch_qualifier == "any") {
      return rel.name + " " + std::string(p.version) + " is not Multi-Arch: allowed, so it cannot satisfy " +
             rel.to_string();
    }
    return rel.name + " " + std::string(p.version) + " is built for " + std::string(p.architecture) + ", not for " +
           (rel.arch_qualifier.empty() ? std::string(arch) : rel.arch_qualifier);
  }
  std::string providers;
  for (ProviderRef ref : virt) {
    const Package& p = u_.package(ref.pkg);
    const Provide& pv = p.provides[ref.provide];
    providers += (providers.empty() ? "" : ", ") + name_version(p) + " (" +
                 (pv.version.empty() ? "unversioned" : "version " + std::string(pv.version)) + ")";
  }
  return rel.name + " is a virtual package and no provider fits " + rel.to_string() + "; it is provided by " +
         providers;
}

Resolution Selector::result() const {
  std::vector<PkgId> ids = chosen_;
  std::sort(ids.begin(), ids.end(), [&](PkgId a, PkgId b) {
    const Package& pa = u_.package(a);
    const Package& pb = u_.package(b);
    return std::tie(pa.name, pa.architecture) < std::tie(pb.name, pb.architecture);
  });
  std::unordered_map<PkgId, std::size_t> index;
  for (std::size_t i = 0; i < ids.size(); ++i) index.emplace(ids[i], i);

  Resolution out;
  out.packages.reserve(ids.size());
  for (PkgId id : ids) {
    const Package& p = u_.package(id);
    const Origin& o = origin_.at(id);
    const Repository& repo = u_.repositories()[p.repo];
    ResolvedPackage r{std::string(p.name), std::string(p.version), std::string(p.architecture), repo.name,
                      join_url(repo.base_url, p.filename), std::string(p.filename), std::string(p.sha256), p.size,
                      o.reason, p.essential, o.parent ? std::string(u_.package(*o.parent).name) : "", {}, {}};
    const std::string_view arch = p.architecture == "all" ? u_.native_arch() : p.architecture;
    auto edges = [&](const RelationList& list, std::vector<std::size_t>& to) {
      for (const Alternatives& group : list) {
        if (auto dep = satisfied_by_chosen(group, arch); dep && *dep != id) to.push_back(index.at(*dep));
      }
      std::sort(to.begin(), to.end());
      to.erase(std::unique(to.begin(), to.end()), to.end());
    };
    edges(u_.relations(id).pre_depends, r.pre_depends);
    edges(u_.relations(id).depends, r.depends);
    out.packages.push_back(std::move(r));
  }
  out.install_order = installation_order(out.packages);
  return out;
}

Resolution resolve(const Universe& universe, const ResolveOptions& options) {
  Selector selector(universe, options.excluded);
  if (options.base != BaseSet::kNone) {
    for (const std::string& name : universe.base_names(options.base == BaseSet::kRequired)) {
      const auto& ex = options.excluded;
      if (std::find(ex.begin(), ex.end(), name) != ex.end()) continue;  // the user's choice wins
      selector.select_root(Request{name, Reason::kEssential});
    }
  }
  for (const std::string& name : options.essential) selector.select_root(Request{name, Reason::kEssential});
  for (const Request& r : options.requests) selector.select_root(r);
  selector.expand();
  return selector.result();
}

}  // namespace stage::resolver
