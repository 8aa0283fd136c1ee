// Measures parse and resolve time on real indexes:
//   resolve_bench [--base=none|essential] <Packages[.gz|.xz]>... -- <package>...
// (the base set defaults to Priority: required, like mmdebstrap minbase)
// Prints the timings, then one "name version" line per chosen package.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "stages/resolver/deb/resolver.hpp"

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  using stage::resolver::IndexText;
  using stage::resolver::Universe;
  std::vector<std::string> files;
  stage::resolver::ResolveOptions options;
  options.base = stage::resolver::BaseSet::kRequired;
  bool specs = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--base=none") {
      options.base = stage::resolver::BaseSet::kNone;
    } else if (arg == "--base=essential") {
      options.base = stage::resolver::BaseSet::kEssential;
    } else if (arg == "--") {
      specs = true;
    } else if (specs) {
      options.requests.push_back({arg, stage::resolver::Reason::kSystem});
    } else {
      files.push_back(arg);
    }
  }
  try {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<const IndexText>> texts;
    for (const auto& f : files) {
      texts.push_back(std::make_shared<const IndexText>(stage::resolver::read_index_file(f)));
    }
    const double read_ms = since(t0);
    t0 = std::chrono::steady_clock::now();
    std::size_t stanzas = 0;
    std::vector<std::vector<stage::resolver::PackageStanza>> parsed;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      parsed.push_back(stage::resolver::parse_packages_index(texts[i]->view(), files[i]));
      stanzas += parsed.back().size();
    }
    const double parse_ms = since(t0);
    t0 = std::chrono::steady_clock::now();
    Universe u("amd64");
    for (std::size_t i = 0; i < parsed.size(); ++i) {
      u.add_stanzas(u.add_repository({"repo" + std::to_string(i), "http://127.0.0.1/debian", 500, {}}), texts[i],
                    std::move(parsed[i]));
    }
    const double index_ms = since(t0);
    t0 = std::chrono::steady_clock::now();
    const auto result = stage::resolver::resolve(u, options);
    const double resolve_ms = since(t0);
    std::fprintf(stderr, "read+decompress %.1f ms, parse %zu stanzas %.1f ms, index %.1f ms, resolve %.1f ms: %zu packages\n",
                 read_ms, stanzas, parse_ms, index_ms, resolve_ms, result.packages.size());
    for (const auto& p : result.packages) std::printf("%s %s\n", p.name.c_str(), p.version.c_str());
  } catch (const base::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
