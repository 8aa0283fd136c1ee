// Mutation fuzzing of the RPM lead/header reader with a fixed seed: every
// mutated package is either read through (every tag the verifier uses, and
// the file-list check) or refused with an invalid-input base::Error.
// Anything else (another exception, a crash, a sanitizer report, a hang)
// fails the test.
#include <gtest/gtest.h>

#include <random>

#include "stages/verifier/rpm/header_builder_test.hpp"
#include "stages/verifier/rpm/header_fuzz_target.hpp"

namespace stage::verifier::rpm {
namespace {

constexpr int kCases = 20000;

class Mutator {
 public:
  explicit Mutator(std::uint32_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) { return n == 0 ? 0 : rng_() % n; }

  std::string mutate(std::string file) {
    switch (below(5)) {
      case 0:  // bit flips anywhere
        for (std::size_t i = 0, n = 1 + below(8); i < n; ++i) file[below(file.size())] ^= static_cast<char>(1 << below(8));
        break;
      case 1:  // truncation
        file.resize(below(file.size()));
        break;
      case 2:  // a random or nearby 32-bit field at a 4-byte boundary (counts, offsets, types)
        if (file.size() >= 4) {
          const std::size_t at = 4 * below(file.size() / 4);
          const std::uint32_t v = below(2) ? static_cast<std::uint32_t>(rng_()) : static_cast<std::uint32_t>(below(64));
          test::set32(file, at, v);
        }
        break;
      case 3:  // a run of random bytes
        for (std::size_t at = below(file.size()), n = 1 + below(32); n > 0 && at < file.size(); --n, ++at)
          file[at] = static_cast<char>(rng_());
        break;
      case 4:  // NULs removed from the data (unterminated strings)
        for (std::size_t i = 0, n = 1 + below(4); i < n; ++i) {
          const auto nul = file.find('\0', 96 + below(file.size()));
          if (nul != std::string::npos) file[nul] = 'x';
        }
        break;
    }
    return file;
  }

 private:
  std::mt19937 rng_;
};

TEST(RpmHeaderFuzz, EveryMutatedPackageIsReadOrRefused) {
  const std::string seed = test::sample_package();
  ASSERT_TRUE(fuzz_package_bytes(seed));
  Mutator m(20261205);
  int read = 0, refused = 0;
  for (int i = 0; i < kCases; ++i) {
    std::string file = m.mutate(seed);
    if (m.below(4) == 0) file = m.mutate(std::move(file));  // stacked mutations
    (fuzz_package_bytes(file) ? read : refused)++;
  }
  RecordProperty("read", read);
  RecordProperty("refused", refused);
  // Both outcomes must occur, or the mutations are not doing their job.
  EXPECT_GT(read, kCases / 50);
  EXPECT_GT(refused, kCases / 4);
}

}  // namespace
}  // namespace stage::verifier::rpm
