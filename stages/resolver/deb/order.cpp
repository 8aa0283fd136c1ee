// Installation order (Tarjan SCCs over the dependency graph) and the
// Graphviz view of a resolution.
#include <algorithm>
#include <queue>
#include <set>

#include "stages/resolver/deb/resolver.hpp"

namespace stage::resolver {
namespace {

using Graph = std::vector<std::vector<std::size_t>>;

// Strongly connected components, each emitted after every component it
// reaches: dependencies come first. Iterative to bound stack use.
std::vector<std::vector<std::size_t>> tarjan(const Graph& g) {
  const std::size_t n = g.size();
  constexpr std::size_t kUnvisited = static_cast<std::size_t>(-1);
  std::vector<std::size_t> index(n, kUnvisited), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<std::size_t> stack;
  std::vector<std::vector<std::size_t>> sccs;
  std::size_t counter = 0;
  struct Frame {
    std::size_t v;
    std::size_t next;
  };
  for (std::size_t s = 0; s < n; ++s) {
    if (index[s] != kUnvisited) continue;
    std::vector<Frame> calls{{s, 0}};
    index[s] = low[s] = counter++;
    stack.push_back(s);
    on_stack[s] = true;
    while (!calls.empty()) {
      const std::size_t v = calls.back().v;
      if (calls.back().next < g[v].size()) {
        const std::size_t w = g[v][calls.back().next++];
        if (index[w] == kUnvisited) {
          index[w] = low[w] = counter++;
          stack.push_back(w);
          on_stack[w] = true;
          calls.push_back({w, 0});
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      if (low[v] == index[v]) {
        std::vector<std::size_t> scc;
        std::size_t w;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack[w] = false;
          scc.push_back(w);
        } while (w != v);
        sccs.push_back(std::move(scc));
      }
      calls.pop_back();
      if (!calls.empty()) low[calls.back().v] = std::min(low[calls.back().v], low[v]);
    }
  }
  return sccs;
}

// Orders one cycle: Pre-Depends inside it are honoured where they do not
// themselves form a cycle; otherwise the smallest index (name order) goes first.
void order_cycle(std::vector<std::size_t> scc, const std::vector<ResolvedPackage>& pkgs,
                 std::vector<std::size_t>& out) {
  std::sort(scc.begin(), scc.end());
  std::set<std::size_t> remaining(scc.begin(), scc.end());
  while (!remaining.empty()) {
    std::size_t pick = *remaining.begin();
    for (std::size_t v : remaining) {
      const auto& pre = pkgs[v].pre_depends;
      if (std::none_of(pre.begin(), pre.end(), [&](std::size_t d) { return remaining.count(d) != 0; })) {
        pick = v;
        break;
      }
    }
    out.push_back(pick);
    remaining.erase(pick);
  }
}

const char* colour(Reason reason) {
  switch (reason) {
    case Reason::kEssential: return "salmon";
    case Reason::kKernel: return "lightblue";
    case Reason::kBootloader: return "plum";
    case Reason::kSystem: return "palegreen";
    case Reason::kDependency: return "white";
  }
  return "white";
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

std::vector<std::size_t> installation_order(const std::vector<ResolvedPackage>& packages) {
  Graph g(packages.size());
  for (std::size_t i = 0; i < packages.size(); ++i) {
    auto& adj = g[i];
    adj = packages[i].pre_depends;
    adj.insert(adj.end(), packages[i].depends.begin(), packages[i].depends.end());
    std::sort(adj.begin(), adj.end());
    adj.erase(std::unique(adj.begin(), adj.end()), adj.end());
  }
  std::vector<std::size_t> order;
  order.reserve(packages.size());
  for (auto& scc : tarjan(g)) {
    if (scc.size() == 1) {
      order.push_back(scc.front());
    } else {
      order_cycle(std::move(scc), packages, order);
    }
  }
  return order;
}

std::string write_dot(const Resolution& resolution, const DotOptions& options) {
  const auto& pkgs = resolution.packages;
  std::vector<bool> shown(pkgs.size(), !options.system_packages_only);
  if (options.system_packages_only) {
    std::vector<std::size_t> todo;
    for (std::size_t i = 0; i < pkgs.size(); ++i) {
      if (pkgs[i].reason == Reason::kSystem) todo.push_back(i);
    }
    while (!todo.empty()) {
      const std::size_t v = todo.back();
      todo.pop_back();
      if (shown[v]) continue;
      shown[v] = true;
      for (const auto* edges : {&pkgs[v].pre_depends, &pkgs[v].depends}) todo.insert(todo.end(), edges->begin(), edges->end());
    }
  }
  std::string out = "digraph packages {\n  rankdir=LR;\n  node [shape=box, style=filled];\n";
  for (std::size_t i = 0; i < pkgs.size(); ++i) {
    if (!shown[i]) continue;
    const auto& p = pkgs[i];
    out += "  " + quoted(p.name + ":" + p.architecture) + " [label=" + quoted(p.name + "\\n" + p.version) +
           ", fillcolor=" + colour(p.reason) + "];\n";
  }
  for (std::size_t i = 0; i < pkgs.size(); ++i) {
    if (!shown[i]) continue;
    const std::string from = quoted(pkgs[i].name + ":" + pkgs[i].architecture);
    for (std::size_t d : pkgs[i].pre_depends) {
      out += "  " + from + " -> " + quoted(pkgs[d].name + ":" + pkgs[d].architecture) + " [style=bold];\n";
    }
    for (std::size_t d : pkgs[i].depends) {
      if (std::find(pkgs[i].pre_depends.begin(), pkgs[i].pre_depends.end(), d) != pkgs[i].pre_depends.end()) continue;
      out += "  " + from + " -> " + quoted(pkgs[d].name + ":" + pkgs[d].architecture) + ";\n";
    }
  }
  return out + "}\n";
}

}  // namespace stage::resolver
