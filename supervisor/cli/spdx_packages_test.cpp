// An SPDX document's package set, and the documents it refuses: not JSON,
// no packages array, a package without a name, nesting deep enough to
// exhaust the parser's stack.
#include "supervisor/cli/spdx_packages.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"

namespace supervisor::cli {
namespace {

TEST(SpdxPackages, NamesWithTheirVersionsSorted) {
  const PackageVersions p = spdx_packages(
      R"({"spdxVersion": "SPDX-2.3", "packages": [{"name": "libc6", "versionInfo": "2.36-9"},
          {"name": "bash", "versionInfo": "5.2"}, {"name": "libc6", "versionInfo": "2.36-8"}, {"name": "doc"}]})",
      "a.json");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p.at("libc6"), (std::vector<std::string>{"2.36-8", "2.36-9"}));
  EXPECT_EQ(p.at("bash"), (std::vector<std::string>{"5.2"}));
  EXPECT_EQ(p.at("doc"), (std::vector<std::string>{""}));
}

TEST(SpdxPackages, RefusesWhatIsNoSpdxPackageList) {
  EXPECT_THROW(spdx_packages("not json", "a.json"), base::Error);
  EXPECT_THROW(spdx_packages(R"({"packages": {}})", "a.json"), base::Error);
  EXPECT_THROW(spdx_packages(R"({"packages": [{"versionInfo": "1"}]})", "a.json"), base::Error);
  const std::string deep = "{\"packages\": [], \"x\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  try {
    spdx_packages(deep, "'deep.json'");
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'deep.json': nested deeper than 64 levels"), std::string::npos) << e.what();
  }
  // Brackets inside strings are no nesting.
  EXPECT_NO_THROW(spdx_packages("{\"packages\": [], \"x\": \"" + std::string(1000, '[') + "\\\"\"}", "a.json"));
}

}  // namespace
}  // namespace supervisor::cli
