#include "stages/verifier/rpm/header.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "stages/verifier/error_of_test.hpp"
#include "stages/verifier/rpm/header_builder_test.hpp"

namespace stage::verifier::rpm {
namespace {

using stage::verifier::test::error_of;
using test::HeaderBuilder;
using test::package_bytes;
using test::sample_package;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::string_view_literals;

const std::string kSignature = HeaderBuilder().string(kSigTagSha256, "ab").bin(kSigTagRsa, "sig").build();

std::string with_main(const std::string& main) { return package_bytes(kSignature, main, "PAYLOAD"); }

TEST(RpmHeader, ReadsTheLayoutAndTheTags) {
  const std::string file = sample_package();
  const Package p = parse_package(file, "package 'app'");
  EXPECT_EQ(p.signature.bytes(kSigTagRsa), "sig");
  EXPECT_EQ(p.signature.string(kSigTagSha256), "00");
  // The signature header (54 bytes) is padded to 56.
  EXPECT_EQ(p.main_offset, 96u + 56u);
  EXPECT_EQ(file.substr(p.main_offset, p.main.blob().size()), p.main.blob());
  EXPECT_EQ(file.substr(p.payload_offset), "payload");
  EXPECT_EQ(p.main.string(kTagName), "app");
  EXPECT_THAT(*p.main.strings(kTagBasenames), ElementsAre("app", "oic"));
  EXPECT_THAT(*p.main.int16s(kTagFileModes), ElementsAre(0100644, 040755));
  EXPECT_THAT(*p.main.int32s(kTagDirIndexes), ElementsAre(0, 1));
  EXPECT_EQ(p.main.string(kTagEpoch), std::nullopt);
}

TEST(RpmHeader, RefusesWrongMagic) {
  std::string file = sample_package();
  file[0] = 'x';
  EXPECT_THAT(error_of([&] { parse_package(file, "package 'app'"); }),
              AllOf(HasSubstr("package 'app': lead"), HasSubstr("wrong lead magic")));
  file = sample_package();
  file[96 + 3] = 2;
  EXPECT_THAT(error_of([&] { parse_package(file, "package 'app'"); }),
              AllOf(HasSubstr("package 'app': signature header"), HasSubstr("wrong header magic")));
  file = sample_package();
  file[96 + 56] = 0;
  EXPECT_THAT(error_of([&] { parse_package(file, "package 'app'"); }),
              AllOf(HasSubstr("main header"), HasSubstr("wrong header magic")));
}

TEST(RpmHeader, RefusesTruncatedFiles) {
  const std::string file = sample_package();
  const Package p = parse_package(file, "p");
  for (std::size_t cut : {std::size_t{50}, std::size_t{100}, std::size_t{120}, p.main_offset + 10, p.payload_offset - 1}) {
    EXPECT_THAT(error_of([&] { parse_package(file.substr(0, cut), "package 'app'"); }), HasSubstr("truncated"))
        << cut;
  }
}

TEST(RpmHeader, CapsEntriesAndDataBeforeReadingThem) {
  std::string main = HeaderBuilder().string(kTagName, "app").build();
  test::set32(main, 8, kMaxEntries + 1);
  EXPECT_THAT(error_of([&] { parse_package(with_main(main), "p"); }), HasSubstr("65537 entries"));
  main = HeaderBuilder().string(kTagName, "app").build();
  test::set32(main, 12, kMaxDataBytes + 1);
  EXPECT_THAT(error_of([&] { parse_package(with_main(main), "p"); }), HasSubstr("bytes of data (at most"));
  main = HeaderBuilder().build();
  EXPECT_THAT(error_of([&] { parse_package(with_main(main), "p"); }), HasSubstr("no entries"));
}

TEST(RpmHeader, RefusesEntriesOutsideTheData) {
  const auto refusal = [](const HeaderBuilder& b) { return error_of([&] { parse_package(with_main(b.build()), "p"); }); };
  EXPECT_THAT(refusal(HeaderBuilder().raw(kTagName, 6, 8, 1).data("abc")), HasSubstr("past the data"));
  // 0x40000001 INT32 values: count * 4 overflows 32 bits.
  EXPECT_THAT(refusal(HeaderBuilder().raw(kTagDirIndexes, 4, 0, 0x40000001).data("abcdefgh")), HasSubstr("runs past the data"));
  EXPECT_THAT(refusal(HeaderBuilder().raw(kTagDirIndexes, 4, 0, 3).data("abcdefgh")), HasSubstr("runs past the data"));
  EXPECT_THAT(refusal(HeaderBuilder().raw(kTagDirIndexes, 4, 2, 1).data("abcdefgh")), HasSubstr("misaligned"));
  EXPECT_THAT(refusal(HeaderBuilder().raw(kTagBasenames, 8, 0, 9).data("abcdefgh")), HasSubstr("runs past the data"));
  EXPECT_THAT(refusal(HeaderBuilder().raw(kTagName, 6, 0, 2).data("a\0b\0"sv)), HasSubstr("string with a count of 2"));
  EXPECT_THAT(refusal(HeaderBuilder().raw(kTagName, 17, 0, 1).data("a\0"sv)), HasSubstr("unknown type 17"));
  EXPECT_THAT(refusal(HeaderBuilder().raw(kTagName, 6, 0, 0).data("a\0"sv)), HasSubstr("no values"));
}

TEST(RpmHeader, RefusesUnterminatedStringsAndWrongTypes) {
  const Package p = parse_package(
      with_main(HeaderBuilder().int32s(kTagFileFlags, {1}).raw(kTagBasenames, 8, 4, 2).data("a\0bc"sv).build()), "package 'app'");
  EXPECT_THAT(error_of([&] { p.main.strings(kTagBasenames); }),
              AllOf(HasSubstr("package 'app': main header"), HasSubstr("tag 1117 holds an unterminated string")));
  EXPECT_THAT(error_of([&] { p.main.strings(kTagFileFlags); }), HasSubstr("tag 1037 has the unexpected type 4"));
  EXPECT_THAT(error_of([&] { p.main.int16s(kTagFileFlags); }), HasSubstr("unexpected type"));
}

}  // namespace
}  // namespace stage::verifier::rpm
