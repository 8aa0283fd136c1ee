#include "supervisor/stage/progress.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace supervisor {
namespace {

using namespace std::chrono_literals;

// What a reporter in `mode` prints for `rows`.
std::string printed(ProgressMode mode, const std::vector<ProgressReporter::TimingRow>& rows) {
  char* text = nullptr;
  std::size_t size = 0;
  std::FILE* out = ::open_memstream(&text, &size);
  {
    ProgressReporter progress(mode, out);
    progress.timing_table(rows);
  }
  std::fclose(out);
  std::string result(text, size);
  std::free(text);
  return result;
}

std::vector<ProgressReporter::TimingRow> rows() {
  return {{.job = "install", .stage = "installer", .elapsed = 42500ms, .cpu = 51250ms,
           .peak_rss_bytes = 96u << 20, .ok = true,
           .steps = {{"start", 100ms, 90ms}, {"install", 42400ms, 51160ms}}},
          {.job = "make-disk", .stage = "diskmaker", .elapsed = 3000ms, .cpu = 2000ms,
           .peak_rss_bytes = 200u << 20, .ok = false}};
}

TEST(TimingTable, PrintsCpuPeakMemoryAndEachJobsStepsBelowIt) {
  EXPECT_EQ(printed(ProgressMode::kPlain, rows()),
            "\n"
            "JOB                          STAGE         SECONDS        CPU  PEAK-MIB  STATUS\n"
            "install                      installer       42.50      51.25      96.0  ok\n"
            "  start                                       0.10       0.09\n"
            "  install                                    42.40      51.16\n"
            "make-disk                    diskmaker        3.00       2.00     200.0  failed\n"
            "total (stage time)                           45.50      53.25     200.0\n");
}

TEST(TimingTable, IsOneJsonEventWithTheSameFigures) {
  const std::string line = printed(ProgressMode::kJson, rows());
  const nlohmann::json event = nlohmann::json::parse(line);
  EXPECT_EQ(event["event"], "timings");
  const nlohmann::json& install = event["stages"][0];
  EXPECT_EQ(install["job"], "install");
  EXPECT_DOUBLE_EQ(install["seconds"].get<double>(), 42.5);
  EXPECT_DOUBLE_EQ(install["cpu_seconds"].get<double>(), 51.25);
  EXPECT_EQ(install["peak_rss_bytes"], 96u << 20);
  ASSERT_EQ(install["steps"].size(), 2u);
  EXPECT_EQ(install["steps"][1]["name"], "install");
  EXPECT_DOUBLE_EQ(install["steps"][1]["cpu_seconds"].get<double>(), 51.16);
  EXPECT_TRUE(event["stages"][1]["steps"].empty());
}

}  // namespace
}  // namespace supervisor
