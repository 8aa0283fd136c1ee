// libsolv's problems as the tool's error: libsolv's own text for each
// problem (it names packages as name-evr.arch), the requested packages the
// problem involves, and the repository of every package in its rules.
#pragma once

#include <string>
#include <vector>

#include "stages/resolver/rpm/request.hpp"

namespace stage::resolver::rpm {

// The file dependencies ('/...') nothing provides among the rules of the
// solver's problems, sorted, each once.
std::vector<std::string> unprovided_file_dependencies(::Solver* solver);

// Throws base::Error (kInvalidInput); call when solver_solve found problems.
[[noreturn]] void fail_with_problems(::Solver* solver, const std::vector<Request>& requests, const Jobs& jobs);

}  // namespace stage::resolver::rpm
