// For tests: an rpm database made by the host's rpm (SQLite backend) with
// one package, oic-probe 2:1.5-3 noarch, built by rpmbuild and installed
// with --justdb.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace stage::inspector::testing {

// The bytes of the rpmdb.sqlite made in `dir`.
inline std::string make_probe_rpmdb(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const std::filesystem::path top = dir / "rpmbuild", db = dir / "rpmdb", spec = dir / "probe.spec";
  std::ofstream(spec) << "Name: oic-probe\nEpoch: 2\nVersion: 1.5\nRelease: 3\nSummary: probe\nLicense: MIT\n"
                         "BuildArch: noarch\n%description\nprobe\n%files\n";
  const std::string quiet = " >/dev/null 2>&1";
  const std::string rpm = "rpm --define '_db_backend sqlite' --dbpath " + db.string();
  const std::string package = (top / "RPMS/noarch/oic-probe-1.5-3.noarch.rpm").string();
  for (const std::string& command :
       {"rpmbuild -bb --quiet --define '_topdir " + top.string() + "' " + spec.string(), rpm + " --initdb",
        rpm + " -i --justdb --nodeps --nosignature " + package}) {
    if (std::system((command + quiet).c_str()) != 0) throw std::runtime_error("failed: " + command);
  }
  std::ostringstream bytes;
  bytes << std::ifstream(db / "rpmdb.sqlite", std::ios::binary).rdbuf();
  return bytes.str();
}

}  // namespace stage::inspector::testing
