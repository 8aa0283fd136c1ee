#include "stages/resolver/rpm/request.hpp"

#include <set>

#include "base/edit_distance.hpp"
#include "base/error.hpp"
#include "stages/resolver/version_constraint.hpp"


namespace stage::resolver::rpm {
namespace {

constexpr int kSelectionFlags =
    SELECTION_NAME | SELECTION_PROVIDES | SELECTION_GLOB | SELECTION_CANON | SELECTION_DOTARCH | SELECTION_REL;

std::string_view rpm_operator(RelOp op) {
  switch (op) {
    case RelOp::kLess: return "<";
    case RelOp::kLessEqual: return "<=";
    case RelOp::kEqual: return "=";
    case RelOp::kGreaterEqual: return ">=";
    case RelOp::kGreater: return ">";
    case RelOp::kAny: break;
  }
  return "";
}

bool valid_evr(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    std::string_view("._+~^:-").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

std::string spec_of(const Request& r) {
  if (r.op == RelOp::kAny) return r.spec;
  return r.spec + " " + std::string(rpm_operator(r.op)) + " " + r.version;
}

// Solvables of `selection`, and how many of them may be considered.
std::pair<int, int> count_matches(Pool* pool, IdQueue& selection) {
  IdQueue found;
  selection_solvables(pool, selection.get(), found.get());
  int considered = 0;
  for (int i = 0; i < found.size(); ++i) {
    if (pool->considered == nullptr || MAPTST(pool->considered, found[i])) ++considered;
  }
  return {found.size(), considered};
}

[[noreturn]] void fail_unmatched(Pool* pool, const Request& r) {
  IdQueue by_name;
  selection_make(pool, by_name.get(), r.spec.c_str(), kSelectionFlags);
  if (r.op != RelOp::kAny && by_name.size() > 0) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to resolve requested package '" + r.spec +
                                                   "': no version matches '" + std::string(rpm_operator(r.op)) +
                                                   " " + r.version + "'");
  }
  std::set<std::string> names;
  for (Id p = 2; p < pool->nsolvables; ++p) {
    const Solvable* s = pool_id2solvable(pool, p);
    if (s->repo != nullptr) names.insert(pool_id2str(pool, s->name));
  }
  std::vector<std::string_view> candidates(names.begin(), names.end());
  const std::string near = base::nearest_word(r.spec, candidates);
  base::fail(base::ErrorKind::kInvalidInput, "Failed to resolve requested package '" + r.spec +
                                                 "': no package of that name or provide in any repository" +
                                                 (near.empty() ? "" : " (did you mean '" + near + "'?)"));
}

}  // namespace

std::pair<RelOp, std::string> parse_constraint(std::string_view text) {
  static constexpr ConstraintOperator kOps[] = {
      {"<=", RelOp::kLessEqual}, {">=", RelOp::kGreaterEqual}, {"==", RelOp::kEqual},
      {"=", RelOp::kEqual},      {"<", RelOp::kLess},          {">", RelOp::kGreater}};
  const auto [op, version] = split_constraint(text, kOps);
  if (op == RelOp::kAny) return {op, ""};
  text = version;
  base::require(valid_evr(text), "Failed to parse RPM version constraint '" + std::string(text) +
                                     "': not an operator followed by [epoch:]version[-release]");
  return {op, std::string(text)};
}

void add_request_jobs(Pool* pool, const std::vector<Request>& requests, Jobs& jobs) {
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const Request& r = requests[i];
    IdQueue selection;
    selection_make(pool, selection.get(), spec_of(r).c_str(), kSelectionFlags);
    const auto [found, considered] = count_matches(pool, selection);
    if (found == 0) fail_unmatched(pool, r);
    base::require(considered > 0, "Failed to resolve requested package '" + r.spec +
                                      "': every match is excluded or outside its repository's allowPackages");
    for (int k = 0; k < selection.size(); k += 2) {
      queue_push2(jobs.queue.get(), selection[k] | SOLVER_INSTALL, selection[k + 1]);
      jobs.request.push_back(i);
    }
  }
}

}  // namespace stage::resolver::rpm
