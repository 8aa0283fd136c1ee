// Debian's Solver: each Packages index read into one Universe (repositories
// in request order, an index of a repository already added joins it), then
// the selection core (resolver.hpp) and, when asked, the Graphviz graph.
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "stages/resolver/deb/resolver.hpp"
#include "stages/resolver/solver.hpp"

namespace stage::resolver {
namespace {

class DebSolver final : public Solver {
 public:
  StageOutput solve(const StageInput& input) const override {
    Universe universe(input.architecture);
    std::vector<std::pair<std::string, std::uint32_t>> ids;
    for (const IndexInput& index : input.indexes) {
      auto known = std::find_if(ids.begin(), ids.end(), [&](const auto& e) { return e.first == index.repository.name; });
      const std::uint32_t id =
          known != ids.end() ? known->second : universe.add_repository(index.repository);
      if (known == ids.end()) ids.emplace_back(index.repository.name, id);
      universe.add_index(id, index.text, index.origin);
    }
    StageOutput out;
    out.resolution = resolve(universe, input.options);
    out.native_arch = input.architecture;
    if (input.emit_dot) out.dot = write_dot(out.resolution);
    return out;
  }
};

}  // namespace

const Solver& deb_solver() {
  static const DebSolver solver;
  return solver;
}

}  // namespace stage::resolver
