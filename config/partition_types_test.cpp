#include "config/partition_types.hpp"

#include <gtest/gtest.h>

#include <set>

#include "config/rules.hpp"
#include "base/error.hpp"

namespace config {
namespace {

TEST(PartitionTypes, CoverEveryNameTheValidatorAccepts) {
  for (std::string_view name : rules::kPartitionTypes) {
    EXPECT_TRUE(find_partition_type(name).has_value()) << name;
  }
}

TEST(PartitionTypes, HaveWellFormedUniqueGuids) {
  std::set<std::string_view> seen;
  for (const PartitionType& t : partition_types()) {
    EXPECT_TRUE(rules::is_uuid(t.gpt_guid)) << t.name;
    EXPECT_TRUE(seen.insert(t.gpt_guid).second) << "duplicate GUID for " << t.name;
  }
}

struct GuidCase {
  std::string_view type, type_uuid, guid;
};

class GptTypeGuid : public testing::TestWithParam<GuidCase> {};

TEST_P(GptTypeGuid, MapsTheNameOrTheOverride) {
  EXPECT_EQ(gpt_type_guid(GetParam().type, GetParam().type_uuid), GetParam().guid);
}

INSTANTIATE_TEST_SUITE_P(
    Table, GptTypeGuid,
    testing::Values(GuidCase{"esp", "", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"},
                    GuidCase{"linux", "", "0FC63DAF-8483-4772-8E79-3D69D8477DE4"},
                    GuidCase{"", "", "0FC63DAF-8483-4772-8E79-3D69D8477DE4"},
                    GuidCase{"linux-root-amd64", "", "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"},
                    GuidCase{"linux-root-arm64", "", "B921B045-1DF0-41C3-AF44-4C6F280D3FAE"},
                    GuidCase{"linux-swap", "", "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"},
                    GuidCase{"bios", "", "21686148-6449-6E6F-744E-656564454649"},
                    GuidCase{"xbootldr", "", "BC13C2FF-59E6-4262-A352-B275FD6F7172"},
                    GuidCase{"linux-home", "", "933AC7E1-2EB4-4F13-B844-0E14E2AEF915"},
                    GuidCase{"linux-var", "", "4D21B016-B534-45C2-A9FB-5C16E091FD2D"},
                    GuidCase{"linux", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
                             "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"}));

TEST(GptTypeGuidErrors, RejectsAnUnknownNameWithASuggestion) {
  try {
    gpt_type_guid("linux-hme", "");
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("linux-home"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("or set typeUUID, which takes precedence over type"), std::string::npos)
        << e.what();
  }
}

TEST(GptTypeGuid, IgnoresTheNameWhenATypeUuidIsSet) {
  EXPECT_EQ(gpt_type_guid("bios-boot", "21686148-6449-6e6f-744e-656564454649"),
            "21686148-6449-6E6F-744E-656564454649");
}

TEST(EffectiveTypeName, IsTheEntryOfTheTypeUuidElseOfTheName) {
  EXPECT_EQ(effective_type_name("bios-boot", "21686148-6449-6e6f-744e-656564454649"), "bios");
  EXPECT_EQ(effective_type_name("esp", "0fc63daf-8483-4772-8e79-3d69d8477de4"), "linux");
  EXPECT_EQ(effective_type_name("esp", ""), "esp");
  EXPECT_EQ(effective_type_name("", ""), "linux");
  EXPECT_EQ(effective_type_name("esp", "01234567-89ab-cdef-0123-456789abcdef"), std::nullopt);
  EXPECT_EQ(effective_type_name("bios-boot", ""), std::nullopt);
}

TEST(GptTypeGuidErrors, RejectsAMalformedOverride) {
  EXPECT_THROW(gpt_type_guid("linux", "not-a-uuid"), base::Error);
}

struct MbrCase {
  std::string_view type, byte;
};

class MbrTypeByte : public testing::TestWithParam<MbrCase> {};

TEST_P(MbrTypeByte, MapsTheName) { EXPECT_EQ(mbr_type_byte(GetParam().type), GetParam().byte); }

INSTANTIATE_TEST_SUITE_P(Table, MbrTypeByte,
                         testing::Values(MbrCase{"esp", "ef"}, MbrCase{"linux", "83"}, MbrCase{"linux-swap", "82"},
                                         MbrCase{"xbootldr", "ea"}, MbrCase{"linux-lvm", "8e"},
                                         MbrCase{"linux-raid", "fd"}, MbrCase{"linux-root-amd64", "83"}));

TEST(MbrTypeByteErrors, RefusesAGptOnlyType) { EXPECT_THROW(mbr_type_byte("bios"), base::Error); }

TEST(MbrTypeByte, TakesTheTypeUuidsEntryOverTheName) {
  EXPECT_EQ(mbr_type_byte("bios-boot", "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f"), "82");
  EXPECT_THROW(mbr_type_byte("linux", "21686148-6449-6e6f-744e-656564454649"), base::Error);
  EXPECT_THROW(mbr_type_byte("linux", "01234567-89ab-cdef-0123-456789abcdef"), base::Error);
}

}  // namespace
}  // namespace config
