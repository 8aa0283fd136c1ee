// Requested packages as libsolv jobs: names, provides, globs and
// "name-version-release" forms (selection_make, as dnf and tdnf accept
// them), each with its optional version pin, installed with SOLVER_INSTALL.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stages/resolver/deb/resolver.hpp"
#include "stages/resolver/rpm/libsolv.hpp"

namespace stage::resolver::rpm {

// "= 1.2-3", ">= 1.2", "< 2", "1:2.0-1" (a bare version means "="); "" = any.
// rpm's operators: "<" and ">" are strict. Throws base::Error (kInvalidInput).
std::pair<RelOp, std::string> parse_constraint(std::string_view text);

struct Jobs {
  IdQueue queue;                    // (how, what) pairs
  std::vector<std::size_t> request;  // per pair: the index of its Request
};

// Throws base::Error (kInvalidInput) naming a request that matches no
// package (with the nearest name), only excluded or disallowed packages,
// or no version of the pinned one.
void add_request_jobs(Pool* pool, const std::vector<Request>& requests, Jobs& jobs);

}  // namespace stage::resolver::rpm
