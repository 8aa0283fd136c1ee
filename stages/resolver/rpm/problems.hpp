// libsolv's problems as the tool's error: libsolv's own text for each
// problem (it names packages as name-evr.arch), the requested packages the
// problem involves, and the repository of every package in its rules.
#pragma once

#include <vector>

#include "stages/resolver/rpm/request.hpp"

namespace stage::resolver::rpm {

// Throws base::Error (kInvalidInput); call when solver_solve found problems.
[[noreturn]] void fail_with_problems(::Solver* solver, const std::vector<Request>& requests, const Jobs& jobs);

}  // namespace stage::resolver::rpm
