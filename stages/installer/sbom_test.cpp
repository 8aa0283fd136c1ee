#include "stages/installer/sbom.hpp"

#include <capnp/message.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "build_info.hpp"
#include "base/error.hpp"
#include "stages/installer/bootloader.hpp"
#include "stages/installer/test_files.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;
using stage::installer::testing::spit;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kStatus =
    "Package: base-files\n"
    "Essential: yes\n"
    "Status: install ok installed\n"
    "Maintainer: Santiago Vila <sanvila@debian.org>\n"
    "Architecture: amd64\n"
    "Version: 12.4+deb12u5\n"
    "Description: Debian base system miscellaneous files\n"
    " This package contains the basic filesystem hierarchy.\n"
    "\n"
    "Package: removed-tool\n"
    "Status: deinstall ok config-files\n"
    "Architecture: amd64\n"
    "Version: 1.0\n"
    "\n"
    "Package: libstdc++6\n"
    "Status: install ok installed\n"
    "Maintainer: Debian GCC Maintainers <debian-gcc@lists.debian.org>\n"
    "Architecture: amd64\n"
    "Version: 12.2.0-14\n"
    "\n"
    "Package: perl-base\n"
    "Status: install ok installed\n"
    "Architecture: amd64\n"
    "Version: 1:5.36.0-7+deb12u1\n";

TEST(Copyright, ReadsLicenseNamesOfMachineReadableFilesOnly) {
  EXPECT_THAT(copyright_licenses("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
                                 "\nFiles: *\nCopyright: 2020 A\nLicense: GPL-2+\n"
                                 "\nFiles: lib/*\nLicense: Expat\n"
                                 "\nLicense: GPL-2+\n This program is free software...\n"),
              ElementsAre("GPL-2+", "Expat"));
  EXPECT_TRUE(copyright_licenses("This is the Debian prepackaged version of foo.\nLicense: GPL\n").empty());
}

TEST(LicenseExpression, MapsDebianNamesToSpdx) {
  struct Case {
    const char* why;
    std::vector<std::string> names;
    const char* expected;
  } cases[] = {
      {"a plain name", {"GPL-2+"}, "GPL-2.0-or-later"},
      {"names are case-insensitive", {"bsd-3-clause"}, "BSD-3-Clause"},
      {"Expat is MIT", {"Expat"}, "MIT"},
      {"the .0 spelling of GNU names", {"GPL-2.0+", "LGPL-2.0", "LGPL-2.1+"},
       "GPL-2.0-or-later AND LGPL-2.0-only AND LGPL-2.1-or-later"},
      {"a choice", {"GPL-1+ or Artistic"}, "GPL-1.0-or-later OR Artistic-1.0-Perl"},
      {"several files", {"GPL-2+", "LGPL-2.1+ or GPL-3"}, "GPL-2.0-or-later AND (LGPL-2.1-or-later OR GPL-3.0-only)"},
      {"an unknown name", {"public-domain"}, "LicenseRef-public-domain"},
      {"an exception clause", {"GPL-2+ with OpenSSL exception"}, "LicenseRef-GPL-2--with-OpenSSL-exception"},
      {"nothing known", {}, "NOASSERTION"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    std::vector<std::string> refs;
    EXPECT_EQ(spdx_license_expression(c.names, refs), c.expected);
  }
}

TEST(Purl, EncodesEpochsAndPlusSigns) {
  EXPECT_EQ(package_purl("deb", "debian", {"libstdc++6", "1:12.2.0-14+b1", "amd64", ""}, "bookworm"),
            "pkg:deb/debian/libstdc%2B%2B6@1%3A12.2.0-14%2Bb1?arch=amd64&distro=bookworm");
  EXPECT_EQ(package_purl("deb", "debian", {"bash", "5.2.15-2", "amd64", ""}, ""),
            "pkg:deb/debian/bash@5.2.15-2?arch=amd64");
}

// The type is the distribution's (provider config.yml), not always deb.
TEST(Purl, TakesTheGivenType) {
  EXPECT_EQ(package_purl("rpm", "azurelinux", {"bash", "5.2.15-3.azl3", "x86_64", ""}, "azl3"),
            "pkg:rpm/azurelinux/bash@5.2.15-3.azl3?arch=x86_64&distro=azl3");
  EXPECT_EQ(package_purl("rpm", "azurelinux", {"libb", "1:2.0-1", "noarch", ""}, "azl3"),
            "pkg:rpm/azurelinux/libb@2.0-1?arch=noarch&epoch=1&distro=azl3");
  for (const char* type : {"", "apk", "DEB"}) {
    SCOPED_TRACE(type);
    EXPECT_THROW(package_purl(type, "debian", {"bash", "5.2.15-2", "amd64", ""}, ""), base::Error);
  }
}

TEST(SpdxTimestamp, FormatsUtc) {
  EXPECT_EQ(spdx_timestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(spdx_timestamp(1700000000), "2023-11-14T22:13:20Z");
}

class SbomTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sbom_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    spit(root_ / "var/lib/dpkg/status", kStatus);
    spit(root_ / "etc/os-release", "ID=debian\n");
    spit(root_ / "usr/share/doc/base-files/copyright",
         "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
         "Files: *\nLicense: GPL-2+ with OpenSSL exception\n\nFiles: x\nLicense: public-domain\n");
    spit(root_ / "usr/share/doc/libstdc++6/copyright", "Not machine-readable.\n");
    auto request = message_->initRoot<ipc::proto::InstallerRequest>();
    auto packages = request.initPackages(1);
    packages[0].setName("base-files");
    packages[0].setArchitecture("amd64");
    packages[0].setSha256(std::string(64, 'a'));
    packages[0].setDownloadUrl("http://mirror.invalid/debian/pool/main/b/base-files/base-files_12.4_amd64.deb");
    request.getSbom().setImageName("minimal");
    request.getSbom().setImageVersion("1.0");
    request.getSbom().setDistribution("bookworm");
    request.getSbom().setPurlType("deb");
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string sbom(std::int64_t epoch = 1700000000) {
    return make_spdx_sbom(root_, message_->getRoot<ipc::proto::InstallerRequest>().asReader(),
                          dpkg_installer().installed(root_), epoch);
  }

  fs::path root_;
  // Held by pointer: its destructor may throw, which a test fixture's may not.
  std::unique_ptr<capnp::MallocMessageBuilder> message_ = std::make_unique<capnp::MallocMessageBuilder>();
};

TEST_F(SbomTest, ValidatesAgainstTheOfficialSchema) {
  const fs::path out = root_ / "out.spdx.json";
  spit(out, sbom());
  const fs::path schema = fs::path(OIC_SOURCE_ROOT) / "tests/data/spdx/spdx-2.3-schema.json";
  ASSERT_TRUE(fs::exists(schema)) << schema;
  // Throws with jsonschema's own message when the document does not validate.
  EXPECT_NO_THROW(run_host_program(
      {"/usr/bin/python3", "-c",
       "import jsonschema,json,sys; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))",
       out.string(), schema.string()},
      "Failed to validate the SBOM"));
}

// The SBOM's packages are what the family's installer lists: for dpkg, the
// status file's fully installed packages with their maintainers.
TEST_F(SbomTest, DpkgListsOnlyInstalledPackagesWithTheirMaintainers) {
  const std::vector<TreePackage> packages = dpkg_installer().installed(root_);
  ASSERT_EQ(packages.size(), 3u);
  EXPECT_EQ(packages[0].name, "base-files");
  EXPECT_EQ(packages[0].version, "12.4+deb12u5");
  EXPECT_EQ(packages[0].maintainer, "Santiago Vila <sanvila@debian.org>");
  EXPECT_EQ(packages[1].name, "libstdc++6");
  EXPECT_EQ(packages[2].name, "perl-base");  // the last paragraph has no blank line after it
  EXPECT_EQ(packages[2].maintainer, "");
}

TEST_F(SbomTest, DescribesEveryInstalledPackage) {
  const auto doc = nlohmann::json::parse(sbom());
  EXPECT_EQ(doc["spdxVersion"], "SPDX-2.3");
  EXPECT_EQ(doc["creationInfo"]["created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(doc["creationInfo"]["creators"][0], std::string("Tool: os-image-composer-") + OIC_VERSION);
  EXPECT_THAT(doc["documentNamespace"].get<std::string>(), HasSubstr("https://spdx.org/spdxdocs/minimal-1.0-"));
  const auto& packages = doc["packages"];
  ASSERT_EQ(packages.size(), 4u);  // the image and three installed packages
  EXPECT_EQ(packages[0]["SPDXID"], "SPDXRef-Image");
  const auto& base = packages[1];
  EXPECT_EQ(base["SPDXID"], "SPDXRef-Package-base-files-amd64");
  EXPECT_EQ(base["supplier"], "Organization: Santiago Vila (sanvila@debian.org)");
  EXPECT_EQ(base["downloadLocation"],
            "http://mirror.invalid/debian/pool/main/b/base-files/base-files_12.4_amd64.deb");
  EXPECT_EQ(base["checksums"][0]["checksumValue"], std::string(64, 'a'));
  EXPECT_EQ(base["licenseDeclared"], "LicenseRef-GPL-2--with-OpenSSL-exception AND LicenseRef-public-domain");
  EXPECT_EQ(packages[2]["SPDXID"], "SPDXRef-Package-libstdc--6-amd64");
  EXPECT_EQ(packages[2]["licenseDeclared"], "NOASSERTION");
  EXPECT_EQ(packages[2]["downloadLocation"], "NOASSERTION");
  EXPECT_EQ(packages[3]["externalRefs"][0]["referenceLocator"],
            "pkg:deb/debian/perl-base@1%3A5.36.0-7%2Bdeb12u1?arch=amd64&distro=bookworm");
  EXPECT_EQ(doc["hasExtractedLicensingInfos"].size(), 2u);
  EXPECT_EQ(doc["relationships"][0]["relationshipType"], "DESCRIBES");
  EXPECT_EQ(doc["relationships"].size(), 4u);
}

TEST_F(SbomTest, IsReproducibleAndNamespacedByItsPackageSet) {
  const std::string first = sbom();
  EXPECT_EQ(first, sbom());
  spit(root_ / "var/lib/dpkg/status", std::string(kStatus) + "\nPackage: extra\nStatus: install ok installed\n");
  const auto before = nlohmann::json::parse(first);
  const auto after = nlohmann::json::parse(sbom());
  EXPECT_EQ(after["packages"].size(), before["packages"].size() + 1);
  EXPECT_NE(after["documentNamespace"], before["documentNamespace"]);
}

TEST_F(SbomTest, WritesPackageUrlsOfTheRequestedType) {
  message_->getRoot<ipc::proto::InstallerRequest>().getSbom().setPurlType("rpm");
  const auto doc = nlohmann::json::parse(sbom());
  EXPECT_EQ(doc["packages"][3]["externalRefs"][0]["referenceLocator"],
            "pkg:rpm/debian/perl-base@5.36.0-7%2Bdeb12u1?arch=amd64&epoch=1&distro=bookworm");
}

// A tree with no os-release: an RPM purl's namespace is the distribution the
// request names, never "debian".
TEST_F(SbomTest, RpmPurlsWithoutOsReleaseUseTheDistribution) {
  fs::remove(root_ / "etc/os-release");
  auto sbom_request = message_->getRoot<ipc::proto::InstallerRequest>().getSbom();
  sbom_request.setPurlType("rpm");
  sbom_request.setDistribution("azl3");
  const auto doc = nlohmann::json::parse(sbom());
  EXPECT_EQ(doc["packages"][1]["externalRefs"][0]["referenceLocator"],
            "pkg:rpm/azl3/base-files@12.4%2Bdeb12u5?arch=amd64&distro=azl3");
}

TEST_F(SbomTest, RefusesARequestWithoutAPurlType) {
  message_->getRoot<ipc::proto::InstallerRequest>().getSbom().setPurlType("");
  try {
    sbom();
    ADD_FAILURE() << "no error";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("sbom.purlType '' must be deb or rpm"));
  }
}

TEST_F(SbomTest, FailsWithoutADpkgDatabase) {
  fs::remove(root_ / "var/lib/dpkg/status");
  EXPECT_THROW(sbom(), base::Error);
}

}  // namespace
}  // namespace stage::installer
