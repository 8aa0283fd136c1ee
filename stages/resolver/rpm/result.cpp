#include "stages/resolver/rpm/result.hpp"

#include <algorithm>
#include <map>
#include <string>

#include "base/error.hpp"
#include "stages/resolver/rpm/pool.hpp"


namespace stage::resolver::rpm {
namespace {

std::string url_of(const std::string& base_url, const std::string& location) {
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/" + location;
}

ResolvedPackage read_package(Pool* pool, Id id) {
  Solvable* s = pool_id2solvable(pool, id);
  ResolvedPackage p;
  p.name = pool_id2str(pool, s->name);
  p.version = pool_id2str(pool, s->evr);
  p.architecture = pool_id2str(pool, s->arch);
  p.repository = s->repo->name;
  unsigned medium = 0;
  const char* location = solvable_lookup_location(s, &medium);
  base::require(location != nullptr && *location != '\0', "Failed to resolve: " + describe(pool, id) +
                                                               " has no location in primary");
  p.url = url_of(index_of(s).repository.base_url, location);
  p.filename = std::string(location).substr(std::string(location).rfind('/') + 1);
  Id type = 0;
  const char* sum = solvable_lookup_checksum(s, SOLVABLE_CHECKSUM, &type);
  base::require(sum != nullptr && type == REPOKEY_TYPE_SHA256,
                "Failed to resolve: " + describe(pool, id) + " has no sha256 checksum in primary");
  p.sha256 = sum;
  p.size = solvable_lookup_num(s, SOLVABLE_DOWNLOADSIZE, 0);
  return p;
}

// Requires met inside the set; libsolv keeps Requires(pre) after a marker
// (marker 1: only those, -1: the others).
std::vector<std::size_t> edges(Pool* pool, Id id, int marker, const std::map<Id, std::size_t>& index) {
  IdQueue deps;
  solvable_lookup_deparray(pool_id2solvable(pool, id), SOLVABLE_REQUIRES, deps.get(), marker);
  std::vector<std::size_t> out;
  for (int i = 0; i < deps.size(); ++i) {
    Id p, pp;
    FOR_PROVIDES(p, pp, deps[i]) {
      const auto it = index.find(p);
      if (it != index.end() && p != id && std::find(out.begin(), out.end(), it->second) == out.end()) {
        out.push_back(it->second);
      }
    }
  }
  return out;
}

void set_reasons(Pool* pool, const std::vector<Request>& requests, const Jobs& jobs,
                 const std::map<Id, std::size_t>& index, std::vector<ResolvedPackage>& packages) {
  for (std::size_t k = 0; k < jobs.request.size(); ++k) {
    IdQueue selection, matched;
    queue_push2(selection.get(), jobs.queue[2 * static_cast<int>(k)] & ~SOLVER_JOBMASK,
                jobs.queue[2 * static_cast<int>(k) + 1]);
    selection_solvables(pool, selection.get(), matched.get());
    const Reason reason = requests[jobs.request[k]].reason;
    for (int i = 0; i < matched.size(); ++i) {
      const auto it = index.find(matched[i]);
      if (it != index.end()) packages[it->second].reason = std::min(packages[it->second].reason, reason);
    }
  }
}

}  // namespace

Resolution read_transaction(Pool* pool, Transaction* transaction, const std::vector<Request>& requests,
                            const Jobs& jobs) {
  std::vector<Id> ordered(transaction->steps.elements, transaction->steps.elements + transaction->steps.count);
  std::vector<Id> by_name = ordered;
  std::sort(by_name.begin(), by_name.end(), [&](Id a, Id b) {
    return std::string(pool_solvid2str(pool, a)) < std::string(pool_solvid2str(pool, b));
  });
  Resolution out;
  std::map<Id, std::size_t> index;
  for (Id id : by_name) {
    index.emplace(id, out.packages.size());
    out.packages.push_back(read_package(pool, id));
  }
  for (Id id : by_name) {
    out.packages[index[id]].pre_depends = edges(pool, id, 1, index);
    out.packages[index[id]].depends = edges(pool, id, -1, index);
  }
  set_reasons(pool, requests, jobs, index, out.packages);
  for (Id id : ordered) out.install_order.push_back(index[id]);
  return out;
}

}  // namespace stage::resolver::rpm
