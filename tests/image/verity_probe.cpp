#include "tests/image/verity_probe.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tests::image {

std::string verity_probe_value(const std::string& console, const std::string& key) {
  const std::string prefix = "oic-verity-probe: " + key + "=";
  const std::size_t at = console.find(prefix);
  if (at == std::string::npos) return "(no " + key + " line)";
  const std::size_t from = at + prefix.size();
  return console.substr(from, console.find_first_of("\r\n", from) - from);
}

void expect_verified_root(const std::string& console) {
  EXPECT_EQ(verity_probe_value(console, "status"), "verified")
      << console.substr(console.size() > 6000 ? console.size() - 6000 : 0);
  EXPECT_THAT(verity_probe_value(console, "root"), ::testing::HasSubstr("/dev/mapper/root options=ro"));
  EXPECT_EQ(verity_probe_value(console, "usr"), "read-only");
  EXPECT_EQ(verity_probe_value(console, "etc"), "writable");
  EXPECT_EQ(verity_probe_value(console, "var"), "writable");
  EXPECT_EQ(verity_probe_value(console, "read"), "ok");
}

}  // namespace tests::image
