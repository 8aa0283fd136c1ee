// The seam between stage-resolver and a package family's solver (the shape
// of osbuild's solver interface): given the request's package indexes and
// the requested packages, a solver returns the selected packages and their
// installation order. The stage decodes the request, picks the solver and
// encodes what it returns; it knows nothing of a family's index format,
// version order or relations.
//
// Debian's solver is deb/ (its Packages reader, dpkg's version order and
// relation syntax feeding a greedy selection core with dpkg's semantics).
// RPM's is rpm/: libsolv over primary/filelists (StageInput::rpm_indexes).
// StageInput and StageOutput carry their family; the fields of the other
// family stay empty.
#pragma once

#include "stages/resolver/resolver_stage.hpp"

namespace stage::resolver {

class Solver {
 public:
  virtual ~Solver() = default;

  // Throws base::Error (kInvalidInput) naming the request that cannot be
  // satisfied and why, or the index that cannot be read.
  virtual StageOutput solve(const StageInput& input) const = 0;
};

// Debian: Packages indexes, dpkg versions, Depends/Pre-Depends/Provides.
const Solver& deb_solver();

// RPM: primary/filelists, rpm's version order, rich dependencies (libsolv).
const Solver& rpm_solver();

}  // namespace stage::resolver
