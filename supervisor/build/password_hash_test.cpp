#include "supervisor/build/password_hash.hpp"

#include <crypt.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"

namespace supervisor {
namespace {

struct AlgoCase {
  const char* algo;
  const char* prefix;
};

class PasswordHash : public testing::TestWithParam<AlgoCase> {};

TEST_P(PasswordHash, HashesWithTheAlgorithmsPrefixAndVerifies) {
  const std::string hash = hash_password("user", std::string("s3cret pass"), GetParam().algo);
  EXPECT_THAT(hash, testing::StartsWith(GetParam().prefix));
  EXPECT_EQ(std::string(::crypt("s3cret pass", hash.c_str())), hash);
  EXPECT_NE(std::string(::crypt("wrong", hash.c_str())), hash);
}

INSTANTIATE_TEST_SUITE_P(Table, PasswordHash,
                         testing::Values(AlgoCase{"", "$6$"}, AlgoCase{"sha512", "$6$"}, AlgoCase{"sha256", "$5$"},
                                         AlgoCase{"yescrypt", "$y$"}, AlgoCase{"bcrypt", "$2b$"}));

TEST(PasswordHashSalt, DiffersBetweenTwoHashesOfOnePassword) {
  EXPECT_NE(hash_password("u", std::string("same"), "sha512"), hash_password("u", std::string("same"), "sha512"));
}

// The build's salts: the same bytes give the same hash, other bytes another,
// for every algorithm; the hash still verifies.
TEST_P(PasswordHash, GivenSaltBytesGiveTheSameHashEachTime) {
  std::vector<unsigned char> salt(kSaltBytes);
  for (std::size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<unsigned char>(i * 37 + 5);
  const std::string hash = hash_password("user", std::string("pw"), GetParam().algo, salt);
  EXPECT_THAT(hash, testing::StartsWith(GetParam().prefix));
  EXPECT_EQ(hash_password("user", std::string("pw"), GetParam().algo, salt), hash);
  EXPECT_EQ(std::string(::crypt("pw", hash.c_str())), hash);
  salt[0] ^= 0xff;
  EXPECT_NE(hash_password("user", std::string("pw"), GetParam().algo, salt), hash);
}

TEST(PasswordHashSalt, RefusesASaltOfAnotherLength) {
  const std::vector<unsigned char> salt(kSaltBytes - 1, 7);
  EXPECT_THROW(hash_password("u", std::string("pw"), "sha512", salt), base::Error);
}

TEST(PasswordHashInput, KeepsAnExistingHash) {
  const std::string hash = "$6$abcdefgh$" + std::string(86, 'a');
  EXPECT_EQ(hash_password("u", hash, "sha256"), hash);
}

TEST(PasswordHashInput, RejectsADollarStringThatIsNoHash) {
  EXPECT_THROW(hash_password("u", std::string("$notahash"), ""), base::Error);
}

TEST(PasswordHashInput, GivesALockedAccountWithoutPassword) {
  EXPECT_EQ(hash_password("u", std::nullopt, ""), "");
  EXPECT_EQ(hash_password("u", std::string(""), ""), "");
}

TEST(PasswordHashInput, RefusesMd5AndUnknownAlgorithms) {
  try {
    hash_password("alice", std::string("pw"), "md5");
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_THAT(e.what(), testing::HasSubstr("alice"));
  }
  EXPECT_THROW(hash_password("u", std::string("pw"), "sha1"), base::Error);
}

}  // namespace
}  // namespace supervisor
