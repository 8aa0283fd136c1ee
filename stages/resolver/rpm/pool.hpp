// Loading RPM repository metadata into a libsolv pool: primary.xml (and
// filelists.xml when handed over) per repository, rpm's version order, the
// target architecture plus noarch, repository priorities, and what may be
// considered at all (allowPackages, excluded).
#pragma once

#include <string>
#include <vector>

#include "stages/resolver/resolver_stage.hpp"
#include "stages/resolver/rpm/libsolv.hpp"

namespace stage::resolver::rpm {

// Each repository keeps a pointer to its RpmIndexInput (repo->appdata):
// `indexes` must outlive the pool. Throws base::Error (kInvalidInput)
// naming the repository whose metadata cannot be read.
PoolPtr load_pool(const std::string& architecture, const std::vector<RpmIndexInput>& indexes,
                  const std::vector<std::string>& excluded);

// The request entry of the repository a solvable comes from.
const RpmIndexInput& index_of(const Solvable* solvable);

// "name-[epoch:]version-release.arch (from repository R)".
std::string describe(Pool* pool, Id solvable);

}  // namespace stage::resolver::rpm
