#include "stages/resolver/rpm/pool.hpp"

#include <fnmatch.h>

#include <cstdio>

#include "base/error.hpp"


namespace stage::resolver::rpm {
namespace {

struct FileCloser {
  void operator()(FILE* f) const noexcept { std::fclose(f); }
};

void add_rpmmd(Repo* repo, const std::string& xml, int flags, const std::string& what) {
  std::unique_ptr<FILE, FileCloser> file(solv_fmemopen(xml.data(), xml.size(), "r"));
  base::require(file != nullptr, "Failed to read " + what + ": cannot open it as a stream");
  // Internalized per file: filelists joins primary's solvables by checksum.
  if (repo_add_rpmmd(repo, file.get(), nullptr, flags) != 0) {
    base::fail(base::ErrorKind::kInvalidInput,
               "Failed to read " + what + ": " + pool_errstr(repo->pool));
  }
}

bool matches_any(const std::vector<std::string>& patterns, const std::string& name, const std::string& nevr) {
  for (const std::string& p : patterns) {
    if (::fnmatch(p.c_str(), name.c_str(), 0) == 0 || ::fnmatch(p.c_str(), nevr.c_str(), 0) == 0) return true;
  }
  return false;
}

// allowPackages (per repository) and excluded (everywhere) through
// pool->considered: a solvable outside it is neither chosen nor a provider.
void restrict_considered(Pool* pool, const std::vector<std::string>& excluded) {
  pool->considered = static_cast<Map*>(solv_calloc(1, sizeof(Map)));
  map_init(pool->considered, pool->nsolvables);
  Id p;
  Solvable* s;
  FOR_POOL_SOLVABLES(p) {
    s = pool_id2solvable(pool, p);
    if (s->repo == nullptr) continue;
    const std::string name = pool_id2str(pool, s->name);
    const std::string nevr = name + "-" + pool_id2str(pool, s->evr);
    const auto& allow = index_of(s).repository.allow_packages;
    if (matches_any(excluded, name, nevr)) continue;
    if (!allow.empty() && !matches_any(allow, name, nevr)) continue;
    MAPSET(pool->considered, p);
  }
}

}  // namespace

PoolPtr load_pool(const std::string& architecture, const std::vector<RpmIndexInput>& indexes,
                  const std::vector<std::string>& excluded) {
  PoolPtr pool(pool_create());
  pool_setdisttype(pool.get(), DISTTYPE_RPM);
  pool_setarch(pool.get(), architecture.c_str());
  for (const RpmIndexInput& index : indexes) {
    Repo* repo = repo_create(pool.get(), index.repository.name.c_str());
    repo->appdata = const_cast<RpmIndexInput*>(&index);
    repo->priority = index.repository.priority;
    add_rpmmd(repo, index.primary, 0, index.origin);
    if (!index.filelists.empty()) {
      add_rpmmd(repo, index.filelists, REPO_EXTEND_SOLVABLES, "filelists of repository '" + index.repository.name + "'");
    }
  }
  pool_addfileprovides(pool.get());
  pool_createwhatprovides(pool.get());
  // After whatprovides (as dnf does): hidden packages stay findable by name,
  // for a clear error, while the solver never installs them.
  restrict_considered(pool.get(), excluded);
  return pool;
}

const RpmIndexInput& index_of(const Solvable* solvable) {
  return *static_cast<const RpmIndexInput*>(solvable->repo->appdata);
}

std::string describe(Pool* pool, Id solvable) {
  const Solvable* s = pool_id2solvable(pool, solvable);
  return std::string(pool_solvid2str(pool, solvable)) + " (from repository " + s->repo->name + ")";
}

}  // namespace stage::resolver::rpm
