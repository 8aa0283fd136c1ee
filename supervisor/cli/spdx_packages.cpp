#include "supervisor/cli/spdx_packages.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/error.hpp"

namespace supervisor::cli {
namespace {

using nlohmann::json;

constexpr int kMaxJsonDepth = 64;

// nlohmann's parser recurses per level: a document nested deeper than
// kMaxJsonDepth is refused before it is parsed.
void require_shallow(const std::string& text, const std::string& where) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        base::fail(base::ErrorKind::kInvalidInput, "Failed to read the SPDX document " + where + ": nested deeper than " +
                                                       std::to_string(kMaxJsonDepth) + " levels");
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

}  // namespace

PackageVersions spdx_packages(const std::string& text, const std::string& where) {
  require_shallow(text, where);
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("packages") || !doc["packages"].is_array()) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to read the SPDX document " + where +
                                                   ": not JSON with a \"packages\" array");
  }
  PackageVersions out;
  for (const json& p : doc["packages"]) {
    if (!p.is_object() || !p.contains("name") || !p["name"].is_string()) {
      base::fail(base::ErrorKind::kInvalidInput, "Failed to read the SPDX document " + where + ": a package without a name");
    }
    const std::string version = p.contains("versionInfo") && p["versionInfo"].is_string() ? p["versionInfo"].get<std::string>() : "";
    out[p["name"].get<std::string>()].push_back(version);
  }
  for (auto& [name, versions] : out) std::sort(versions.begin(), versions.end());
  return out;
}

}  // namespace supervisor::cli
