#include "stages/installer/rpm/rpm_transaction.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"

namespace stage::installer {
namespace {

TEST(RpmQuery, ListsPackagesWithoutKeysOrZeroEpochsAndTheVendorOrPackagerAsMaintainer) {
  const std::vector<TreePackage> packages = parse_rpm_query(
      "svcd\t0:1.0-1\tx86_64\tOIC Vendor\tSomeone <a@b>\n"
      "gpg-pubkey\t0:1a2b3c4d-650000\t(none)\t(none)\t(none)\n"
      "libb\t1:2.0-1\tnoarch\t(none)\tPackager <p@q>\n"
      "bare\t0:3-1.azl3\tx86_64\t(none)\t(none)\n");
  ASSERT_EQ(packages.size(), 3u);
  EXPECT_EQ(packages[0].name, "bare");
  EXPECT_EQ(packages[0].version, "3-1.azl3");
  EXPECT_EQ(packages[0].maintainer, "");
  EXPECT_EQ(packages[1].name, "libb");
  EXPECT_EQ(packages[1].version, "1:2.0-1");
  EXPECT_EQ(packages[1].architecture, "noarch");
  EXPECT_EQ(packages[1].maintainer, "Packager <p@q>");
  EXPECT_EQ(packages[2].name, "svcd");
  EXPECT_EQ(packages[2].version, "1.0-1");
  EXPECT_EQ(packages[2].maintainer, "OIC Vendor");
}

TEST(RpmQuery, RefusesALineWithoutTheFieldsAskedFor) {
  try {
    parse_rpm_query("svcd\t0:1.0-1\tx86_64\tvendor\tpackager\nbroken line\n");
    FAIL() << "a malformed line was accepted";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2 'broken line'"), std::string::npos) << e.what();
  }
}

TEST(RpmTransaction, DeferredPackagesRunNoScriptletsOrTriggersAndSignaturesAreLeftToTheVerifier) {
  const std::vector<std::string> first = rpm_install_argv("/t", "/var/lib/rpm", {"/proc/self/fd/5"}, false);
  EXPECT_EQ(first, (std::vector<std::string>{"/usr/bin/rpm", "--root", "/t", "--dbpath", "/var/lib/rpm", "--noplugins",
                                             "--define", "_netsharedpath /proc:/dev", "--nosignature", "-i", "--",
                                             "/proc/self/fd/5"}));
  const std::vector<std::string> deferred = rpm_install_argv("/t", "/var/lib/rpm", {"/proc/self/fd/6"}, true);
  EXPECT_EQ(deferred, (std::vector<std::string>{"/usr/bin/rpm", "--root", "/t", "--dbpath", "/var/lib/rpm",
                                                "--noplugins", "--define", "_netsharedpath /proc:/dev",
                                                "--nosignature", "-i", "--noscripts", "--notriggers",
                                                "--", "/proc/self/fd/6"}));
}

TEST(RpmTransaction, DbPathMustBeAbsoluteInsideTheImage) {
  EXPECT_EQ(checked_db_path("/usr/lib/sysimage/rpm/"), "/usr/lib/sysimage/rpm");
  EXPECT_EQ(checked_db_path("/var/lib/./rpm"), "/var/lib/rpm");
  for (const char* bad : {"", "var/lib/rpm", "/var/../../etc", "/", "//"}) {
    EXPECT_THROW(checked_db_path(bad), base::Error) << bad;
  }
}

TEST(RpmErrors, NameThePackageRpmBlames) {
  EXPECT_EQ(package_named_by_rpm("error: unpacking of archive failed on file /dev: cpio: chown failed\n"
                                 "error: filesystem-1.0-1.x86_64: install failed\n"),
            "filesystem-1.0-1.x86_64");
  EXPECT_EQ(package_named_by_rpm("error: failed to exec scriptlet interpreter /bin/sh: No such file or directory\n"
                                 "error: %prein(svcd-1.0-1.x86_64) scriptlet failed, exit status 127\n"),
            "svcd-1.0-1.x86_64");
  EXPECT_EQ(package_named_by_rpm("error: Failed dependencies:\n\tlibb is needed by app-1.0-1.x86_64\n"),
            "app-1.0-1.x86_64");
  EXPECT_EQ(package_named_by_rpm("\tpackage tool-1.0-1.x86_64 is already installed\n"), "tool-1.0-1.x86_64");
  EXPECT_EQ(package_named_by_rpm("error: cannot open Packages database in /t/var/lib/rpm\n"), "");
}

}  // namespace
}  // namespace stage::installer
