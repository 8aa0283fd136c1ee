#include "stages/resolver/deb/universe.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <functional>
#include <tuple>

#include "base/error.hpp"
#include "stages/resolver/deb/deb_version.hpp"

namespace stage::resolver {
namespace {

MultiArch parse_multi_arch(std::string_view v) {
  if (v == "same") return MultiArch::kSame;
  if (v == "foreign") return MultiArch::kForeign;
  if (v == "allowed") return MultiArch::kAllowed;
  return MultiArch::kNo;
}

std::vector<Provide> to_provides(const RelationViewList& list) {
  std::size_t count = 0;
  for (const AlternativeViews& group : list) count += group.size();
  std::vector<Provide> out;
  out.reserve(count);  // some packages provide hundreds of names
  for (const AlternativeViews& group : list) {
    for (const RelationView& r : group) {
      // Policy allows only '=' in Provides; anything else provides no version.
      out.push_back(Provide{r.name, r.op == RelOp::kEqual ? r.version : std::string_view(), r.arch_qualifier});
    }
  }
  return out;
}

// Whether `view` lies inside `text` (compared as addresses, which std::less
// orders even across objects).
bool views_into(std::string_view view, std::string_view text) noexcept {
  const std::less<const char*> before;
  return !before(view.data(), text.data()) && !before(text.data() + text.size(), view.data() + view.size());
}

}  // namespace

std::string name_version(const Package& p) {
  std::string out(p.name);
  out.append(" ").append(p.version);
  return out;
}

bool is_glob(std::string_view pattern) noexcept {
  return pattern.find_first_of("*?[") != std::string_view::npos;
}

bool glob_matches(std::string_view pattern, std::string_view name) {
  return ::fnmatch(std::string(pattern).c_str(), std::string(name).c_str(), 0) == 0;
}

bool allow_pattern_matches(std::string_view pattern, std::string_view name, std::string_view version) {
  if (is_glob(pattern)) return glob_matches(pattern, name);
  if (pattern == name) return true;
  // "name_version" or "name-version" prefix: the separator must follow the name.
  if (pattern.size() <= name.size() + 1 || !pattern.starts_with(name)) return false;
  const char sep = pattern[name.size()];
  if (sep != '_' && sep != '-') return false;
  return version.starts_with(pattern.substr(name.size() + 1));
}

Universe::Universe(std::string native_arch, std::vector<std::string> foreign_archs)
    : native_arch_(std::move(native_arch)), foreign_archs_(std::move(foreign_archs)) {
  base::require(!native_arch_.empty() && native_arch_ != "all", "Failed to index packages: no native architecture");
}

std::uint32_t Universe::add_repository(Repository repo) {
  base::require(!repo.name.empty(), "Failed to add repository: it has no name");
  for (const Repository& r : repos_) {
    base::require(r.name != repo.name, "Failed to add repository '" + repo.name + "': the name is used twice");
  }
  repos_.push_back(std::move(repo));
  return static_cast<std::uint32_t>(repos_.size() - 1);
}

void Universe::add_index(std::uint32_t repo, std::shared_ptr<const IndexText> text, std::string_view origin) {
  base::check(text != nullptr, "add_index: no index text");
  std::vector<PackageStanza> stanzas = parse_packages_index(text->view(), origin);
  add_stanzas(repo, std::move(text), std::move(stanzas));
}

void Universe::add_index(std::uint32_t repo, std::string_view packages_text, std::string_view origin) {
  add_index(repo, std::make_shared<const IndexText>(std::string(packages_text)), origin);
}

void Universe::add_stanzas(std::uint32_t repo, std::shared_ptr<const IndexText> text,
                           std::vector<PackageStanza> stanzas) {
  base::check(repo < repos_.size(), "add_stanzas: unknown repository index");
  base::check(text != nullptr, "add_stanzas: no index text");
  const std::string_view bytes = text->view();
  texts_.push_back(std::move(text));
  // Room for every stanza, at least doubling, so several indexes do not
  // each move every package.
  if (packages_.capacity() < packages_.size() + stanzas.size()) {
    reserve_huge(packages_, std::max(packages_.size() + stanzas.size(), 2 * packages_.capacity()));
  }
  by_name_.reserve(by_name_.size() + stanzas.size());  // no rehash while adding
  for (const PackageStanza& s : stanzas) {
    // Every view must point into a text this Universe keeps.
    base::check(views_into(s.package, bytes), "add_stanzas: a stanza is not from its index text");
    add_stanza(repo, s);
  }
  relations_.resize(packages_.size());
  sorted_ = false;
}

bool Universe::indexes_architecture(std::string_view arch) const {
  return arch == "all" || arch == native_arch_ ||
         std::find(foreign_archs_.begin(), foreign_archs_.end(), arch) != foreign_archs_.end();
}

void Universe::add_stanza(std::uint32_t repo, const PackageStanza& s) {
  if (!indexes_architecture(s.architecture)) return;
  const Repository& r = repos_[repo];
  if (r.priority < 0) {
    excluded_.emplace(std::string(s.package), "blocked by the negative priority of repository '" + r.name + "'");
    return;
  }
  if (!r.allow_packages.empty() &&
      std::none_of(r.allow_packages.begin(), r.allow_packages.end(),
                   [&](const std::string& p) { return allow_pattern_matches(p, s.package, s.version); })) {
    excluded_.emplace(std::string(s.package), "excluded by allowPackages of repository '" + r.name + "'");
    return;
  }
  Package p;
  if (!s.provides.empty()) {
    base::ErrorContext ctx("indexing package", s.package, s.version, "of repository", r.name);
    p.provides = to_provides(parse_relation_views(s.provides, "Provides"));
  }
  p.raw_pre_depends = s.pre_depends;
  p.raw_depends = s.depends;
  p.raw_conflicts = s.conflicts;
  p.raw_breaks = s.breaks;
  p.name = s.package;
  p.version = s.version;
  p.architecture = s.architecture;
  p.multi_arch = parse_multi_arch(s.multi_arch);
  p.essential = s.essential;
  p.priority = s.priority;
  p.filename = s.filename;
  p.sha256 = s.sha256;
  p.size = s.size;
  p.repo = repo;
  const auto id = static_cast<PkgId>(packages_.size());
  by_name_[p.name].push_back(id);
  for (std::uint32_t i = 0; i < p.provides.size(); ++i) by_provide_[p.provides[i].name].push_back({id, i});
  packages_.push_back(std::move(p));
}

const Relations& Universe::relations(PkgId id) const {
  auto& slot = relations_.at(id);
  if (!slot) {
    const Package& p = packages_[id];
    base::ErrorContext ctx("reading package", p.name, p.version, "of repository", repos_[p.repo].name);
    auto parsed = std::make_unique<Relations>();
    parsed->pre_depends = parse_relations(p.raw_pre_depends, "Pre-Depends");
    parsed->depends = parse_relations(p.raw_depends, "Depends");
    parsed->conflicts = parse_relations(p.raw_conflicts, "Conflicts");
    parsed->breaks = parse_relations(p.raw_breaks, "Breaks");
    slot = std::move(parsed);
  }
  return *slot;
}

bool Universe::better(PkgId a, PkgId b) const {
  const Package& pa = packages_[a];
  const Package& pb = packages_[b];
  if (repos_[pa.repo].priority != repos_[pb.repo].priority) {
    return repos_[pa.repo].priority > repos_[pb.repo].priority;
  }
  if (int c = compare_versions(pa.version, pb.version); c != 0) return c > 0;
  auto foreign = [&](const Package& p) { return p.architecture != "all" && p.architecture != native_arch_; };
  if (foreign(pa) != foreign(pb)) return !foreign(pa);
  if (pa.architecture != pb.architecture) return pa.architecture < pb.architecture;
  if (pa.repo != pb.repo) return pa.repo < pb.repo;
  // Same name, version, architecture and repository: a duplicate stanza.
  return std::tie(pa.filename, pa.sha256, pa.version) < std::tie(pb.filename, pb.sha256, pb.version);
}

void Universe::sort_indexes() const {
  if (sorted_) return;
  auto by_quality = [this](PkgId a, PkgId b) { return better(a, b); };
  for (auto& [name, ids] : by_name_) std::sort(ids.begin(), ids.end(), by_quality);
  for (auto& [name, refs] : by_provide_) {
    std::sort(refs.begin(), refs.end(), [&](const ProviderRef& a, const ProviderRef& b) {
      const Package& pa = packages_[a.pkg];
      const Package& pb = packages_[b.pkg];
      if (pa.name != pb.name) return pa.name < pb.name;
      if (a.pkg != b.pkg) return better(a.pkg, b.pkg);
      return a.provide < b.provide;
    });
  }
  sorted_ = true;
}

std::span<const PkgId> Universe::candidates(std::string_view name) const {
  sort_indexes();
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return {};
  return it->second;
}

std::span<const ProviderRef> Universe::providers(std::string_view name) const {
  sort_indexes();
  auto it = by_provide_.find(name);
  if (it == by_provide_.end()) return {};
  return it->second;
}

std::vector<std::string> Universe::names() const {
  std::vector<std::string> out;
  out.reserve(by_name_.size());
  for (const auto& [name, ids] : by_name_) out.emplace_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Universe::base_names(bool with_required) const {
  sort_indexes();
  std::vector<std::string> out;
  for (const auto& [name, ids] : by_name_) {
    for (PkgId id : ids) {
      const Package& p = packages_[id];
      if (p.architecture != "all" && p.architecture != native_arch_) continue;
      if (p.essential || (with_required && p.priority == "required")) out.emplace_back(name);
      break;  // only the best native candidate decides
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Universe::names_matching(std::string_view glob) const {
  std::vector<std::string> out;
  const std::string pattern(glob);
  std::string terminated;  // fnmatch wants a C string; one buffer serves every name
  for (const auto& [name, ids] : by_name_) {
    terminated.assign(name);
    if (::fnmatch(pattern.c_str(), terminated.c_str(), 0) == 0) out.push_back(terminated);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Universe::exclusion_reason(std::string_view name) const {
  auto it = excluded_.find(name);
  return it == excluded_.end() ? std::string() : it->second;
}

}  // namespace stage::resolver
