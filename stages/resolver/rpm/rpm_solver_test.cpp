// The RPM solver on hand-written primary.xml/filelists.xml: one case per
// semantic libsolv brings (rich dependencies, file provides, epochs,
// rpmvercmp, Obsoletes, Conflicts, noarch, priorities, allowPackages,
// excluded, pins, globs, problems, installation order).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "stages/resolver/rpm/pool.hpp"
#include "stages/resolver/rpm/request.hpp"
#include "stages/resolver/solver.hpp"


namespace stage::resolver {
namespace {

struct Pkg {
  Pkg(std::string n, std::string e, std::string a = "x86_64", std::string f = "", std::string fl = "")
      : name(std::move(n)), evr(std::move(e)), arch(std::move(a)), format(std::move(f)), files(std::move(fl)) {}
  std::string name;
  std::string evr;     // "[epoch:]version-release"
  std::string arch;
  std::string format;  // <rpm:requires> etc.
  std::string files;   // filelists.xml only
};

std::string entries(const std::vector<std::string>& names, bool pre = false) {
  std::string out;
  for (const std::string& n : names) {
    out += "<rpm:entry name=\"" + n + "\"" + (pre ? " pre=\"1\"" : "") + "/>";
  }
  return out;
}
std::string requires_(const std::vector<std::string>& n) { return "<rpm:requires>" + entries(n) + "</rpm:requires>"; }
std::string provides(const std::vector<std::string>& n) { return "<rpm:provides>" + entries(n) + "</rpm:provides>"; }

std::string checksum_of(const Pkg& p) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064zx", std::hash<std::string>{}(p.name + p.evr + p.arch));
  return buf;
}

std::string version_xml(const std::string& evr) {
  const auto colon = evr.find(':');
  const std::string epoch = colon == std::string::npos ? "0" : evr.substr(0, colon);
  const std::string vr = colon == std::string::npos ? evr : evr.substr(colon + 1);
  const auto dash = vr.rfind('-');
  return "<version epoch=\"" + epoch + "\" ver=\"" + vr.substr(0, dash) + "\" rel=\"" + vr.substr(dash + 1) + "\"/>";
}

std::string primary(const std::vector<Pkg>& pkgs) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" "
      "xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"" + std::to_string(pkgs.size()) + "\">\n";
  for (const Pkg& p : pkgs) {
    out += "<package type=\"rpm\"><name>" + p.name + "</name><arch>" + p.arch + "</arch>" + version_xml(p.evr) +
           "<checksum type=\"sha256\" pkgid=\"YES\">" + checksum_of(p) + "</checksum>"
           "<location href=\"Packages/" + p.name + "-" + p.evr + "." + p.arch + ".rpm\"/>"
           "<size package=\"1234\" installed=\"0\" archive=\"0\"/><format>" + p.format + "</format></package>\n";
  }
  return out + "</metadata>\n";
}

std::string filelists(const std::vector<Pkg>& pkgs) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\">\n";
  for (const Pkg& p : pkgs) {
    out += "<package pkgid=\"" + checksum_of(p) + "\" name=\"" + p.name + "\" arch=\"" + p.arch + "\">" +
           version_xml(p.evr) + (p.files.empty() ? "" : "<file>" + p.files + "</file>") + "</package>\n";
  }
  return out + "</filelists>\n";
}

RpmIndexInput repo(const std::string& name, const std::vector<Pkg>& pkgs, int priority = 500,
                   std::vector<std::string> allow = {}, bool with_filelists = true) {
  RpmIndexInput in;
  in.repository.name = name;
  in.repository.base_url = "http://127.0.0.1/" + name + "/";
  in.repository.priority = priority;
  in.repository.allow_packages = std::move(allow);
  in.primary = primary(pkgs);
  if (with_filelists) in.filelists = filelists(pkgs);
  in.origin = "primary.xml of repository '" + name + "'";
  return in;
}

Request req(const std::string& spec, const std::string& version = "") {
  auto [op, v] = rpm::parse_constraint(version);
  return Request{spec, Reason::kSystem, op, v};
}

StageOutput solve(std::vector<RpmIndexInput> repos, std::vector<Request> requests,
                  std::vector<std::string> excluded = {}, std::string arch = "x86_64") {
  StageInput in;
  in.family = Family::kRpm;
  in.architecture = std::move(arch);
  in.rpm_indexes = std::move(repos);
  in.options.requests = std::move(requests);
  in.options.excluded = std::move(excluded);
  return rpm_solver().solve(in);
}

const ResolvedPackage* find(const StageOutput& out, const std::string& name) {
  for (const auto& p : out.resolution.packages) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string names(const StageOutput& out) {
  std::string s;
  for (const auto& p : out.resolution.packages) s += (s.empty() ? "" : " ") + p.name;
  return s;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    return e.what();
  }
  return "no error";
}

TEST(RpmSolver, RichDependencies) {
  const std::vector<Pkg> pkgs = {
      {"app", "1.0-1", "x86_64",
       requires_({"(liba if feature)", "(tool or missingthing)", "(libd if nofeature else libe)",
                  "(kernel with kernel-small)", "(shell without shell-big)"})},
      {"app2", "1.0-1", "x86_64", requires_({"(libf unless feature else libg)"})},
      {"feature", "1-1", "noarch"}, {"liba", "1-1"}, {"tool", "1-1"}, {"libd", "1-1"}, {"libe", "1-1"},
      {"libf", "1-1"}, {"libg", "1-1"},
      {"kbig", "1-1", "x86_64", provides({"kernel"})},
      {"ksmall", "1-1", "x86_64", provides({"kernel", "kernel-small"})},
      {"shbig", "1-1", "x86_64", provides({"shell", "shell-big"})},
      {"shsmall", "1-1", "x86_64", provides({"shell"})},
  };
  const auto with_feature = solve({repo("main", pkgs)}, {req("app"), req("app2"), req("feature")});
  EXPECT_EQ(names(with_feature), "app app2 feature ksmall liba libe libg shsmall tool");
  const auto without = solve({repo("main", pkgs)}, {req("app")});
  EXPECT_EQ(names(without), "app ksmall libe shsmall tool");
}

TEST(RpmSolver, FileProvideFoundOnlyInFilelists) {
  const std::vector<Pkg> pkgs = {{"app", "1.0-1", "x86_64", requires_({"/opt/data/thing"})},
                                 {"data", "1-1", "noarch", "", "/opt/data/thing"}};
  const auto out = solve({repo("main", pkgs)}, {req("app")});
  EXPECT_EQ(names(out), "app data");
  EXPECT_TRUE(out.filelists_needed.empty());
}

// Without filelists, a file dependency primary cannot satisfy is reported,
// not an error: the supervisor fetches filelists and asks again.
TEST(RpmSolver, AFileDependencyOutsidePrimaryAsksForFilelists) {
  const std::vector<Pkg> pkgs = {{"app", "1.0-1", "x86_64", requires_({"/opt/data/thing", "/usr/bin/sh"})},
                                 {"data", "1-1", "noarch", "", "/opt/data/thing"},
                                 {"shell", "1-1", "x86_64", "<file>/usr/bin/sh</file>"}};
  const auto out = solve({repo("main", pkgs, 500, {}, false)}, {req("app")});
  EXPECT_EQ(out.filelists_needed, std::vector<std::string>{"/opt/data/thing"});
  EXPECT_TRUE(out.resolution.packages.empty());
}

TEST(RpmSolver, FileDependenciesPrimarySatisfiesNeedNoFilelists) {
  // primary's own file list (/usr/bin/sh) provides; `other` needs a file
  // only filelists has, but nothing asks for it.
  const std::vector<Pkg> pkgs = {{"app", "1.0-1", "x86_64", requires_({"/usr/bin/sh"})},
                                 {"shell", "1-1", "x86_64", "<file>/usr/bin/sh</file>"},
                                 {"other", "1-1", "x86_64", requires_({"/opt/data/thing"})}};
  const auto out = solve({repo("main", pkgs, 500, {}, false)}, {req("app")});
  EXPECT_TRUE(out.filelists_needed.empty());
  EXPECT_EQ(names(out), "app shell");
}

TEST(RpmSolver, AFileDependencyMissingFromFilelistsTooIsAnError) {
  const std::vector<Pkg> pkgs = {{"app", "1.0-1", "x86_64", requires_({"/opt/data/thing"})}};
  const std::string e = error_of([&] { solve({repo("main", pkgs)}, {req("app")}); });
  EXPECT_NE(e.find("nothing provides /opt/data/thing needed by app-1.0-1.x86_64"), std::string::npos) << e;
}

TEST(RpmSolver, OtherProblemsWithoutFilelistsStayErrors) {
  const std::vector<Pkg> pkgs = {{"app", "1.0-1", "x86_64", requires_({"missing"})}};
  const std::string e = error_of([&] { solve({repo("main", pkgs, 500, {}, false)}, {req("app")}); });
  EXPECT_NE(e.find("nothing provides missing needed by app-1.0-1.x86_64"), std::string::npos) << e;
}

TEST(RpmSolver, EpochBeatsAHigherVersion) {
  const auto out = solve({repo("main", {{"libb", "1:2.0-1", "noarch"}, {"libb", "3.0-1", "noarch"}})}, {req("libb")});
  ASSERT_NE(find(out, "libb"), nullptr);
  EXPECT_EQ(find(out, "libb")->version, "1:2.0-1");
}

TEST(RpmSolver, RpmVersionOrder) {
  const std::vector<RpmIndexInput> none;
  rpm::PoolPtr pool = rpm::load_pool("x86_64", none, {});
  auto cmp = [&](const char* a, const char* b) { return pool_evrcmp_str(pool.get(), a, b, EVRCMP_COMPARE); };
  EXPECT_LT(cmp("1.0~rc1-1", "1.0-1"), 0);
  EXPECT_GT(cmp("1.0^post1-1", "1.0-1"), 0);
  EXPECT_LT(cmp("1.0^post1-1", "1.0.1-1"), 0);
  EXPECT_EQ(cmp("1.0_1-1", "1.0.1-1"), 0);
  EXPECT_LT(cmp("1.19-1", "1.19.1-1"), 0);
  EXPECT_GT(cmp("1:2.0-1", "3.0-1"), 0);
  EXPECT_LT(cmp("1.0-1", "1.0-2"), 0);
  EXPECT_GT(cmp("1.0a-1", "1.0-1"), 0);
}

// "old" is met by new's Provides; new's Obsoletes keep old itself out, so
// asking for both is a problem.
TEST(RpmSolver, ObsoletesReplaceThePackage) {
  const std::string obsoletes = "<rpm:obsoletes><rpm:entry name=\"old\"/></rpm:obsoletes>";
  const std::vector<Pkg> pkgs = {{"app", "1.0-1", "x86_64", requires_({"old"})},
                                 {"old", "1.0-1", "noarch"},
                                 {"new", "1.0-1", "noarch", provides({"old"}) + obsoletes}};
  EXPECT_EQ(names(solve({repo("main", pkgs)}, {req("app")})), "app new");
  const std::string e = error_of([&] { solve({repo("main", pkgs)}, {req("old"), req("new")}); });
  EXPECT_NE(e.find("new-1.0-1.noarch obsoletes old provided by old-1.0-1.noarch"), std::string::npos) << e;
}

TEST(RpmSolver, ConflictsAreAnErrorNamingPackagesAndRepositories) {
  const std::vector<Pkg> pkgs = {
      {"app", "2:1.0-1", "x86_64",
       "<rpm:conflicts><rpm:entry name=\"libb\" flags=\"LT\" epoch=\"1\" ver=\"1\"/></rpm:conflicts>"},
      {"libb", "3.0-1", "noarch"}};
  const std::string e = error_of([&] { solve({repo("main", pkgs)}, {req("app"), req("libb")}); });
  EXPECT_NE(e.find("package app-2:1.0-1.x86_64 conflicts with libb < 1:1 provided by libb-3.0-1.noarch"),
            std::string::npos) << e;
  EXPECT_NE(e.find("libb-3.0-1.noarch (from repository main)"), std::string::npos) << e;
}

TEST(RpmSolver, NoarchAndTheTargetArchitectureOnly) {
  const std::vector<Pkg> pkgs = {{"tool", "1-1", "x86_64", requires_({"data"})},
                                 {"tool", "2-1", "aarch64", requires_({"data"})},
                                 {"data", "1-1", "noarch"}};
  const auto x86 = solve({repo("main", pkgs)}, {req("tool")});
  EXPECT_EQ(find(x86, "tool")->architecture, "x86_64");
  EXPECT_EQ(find(x86, "data")->architecture, "noarch");
  EXPECT_EQ(find(solve({repo("main", pkgs)}, {req("tool")}, {}, "aarch64"), "tool")->version, "2-1");
}

TEST(RpmSolver, HigherPriorityRepositoryWinsOverANewerVersion) {
  const auto out = solve({repo("base", {{"lib", "2.0-1"}}, 100), repo("pinned", {{"lib", "1.0-1"}}, 900)},
                         {req("lib")});
  EXPECT_EQ(find(out, "lib")->version, "1.0-1");
  EXPECT_EQ(find(out, "lib")->repository, "pinned");
}

TEST(RpmSolver, AllowPackagesLimitsARepository) {
  const auto out = solve({repo("main", {{"lib", "1.0-1"}, {"other", "1-1"}}),
                          repo("vendor", {{"lib", "9.0-1"}, {"other", "9-1"}}, 900, {"oth*"})},
                         {req("lib"), req("other")});
  EXPECT_EQ(find(out, "lib")->repository, "main");
  EXPECT_EQ(find(out, "other")->repository, "vendor");
}

TEST(RpmSolver, ExcludedPackagesAreNeverChosen) {
  const std::vector<Pkg> pkgs = {{"app", "1-1", "x86_64", requires_({"tool"})},
                                 {"tool-a", "1-1", "x86_64", provides({"tool"})},
                                 {"tool-b", "1-1", "x86_64", provides({"tool"})}};
  EXPECT_EQ(names(solve({repo("main", pkgs)}, {req("app")}, {"tool-a"})), "app tool-b");
  EXPECT_EQ(names(solve({repo("main", pkgs)}, {req("app")}, {"tool-b"})), "app tool-a");
  const std::string e = error_of([&] { solve({repo("main", pkgs)}, {req("tool-a")}, {"tool-*"}); });
  EXPECT_NE(e.find("'tool-a': every match is excluded"), std::string::npos) << e;
}

TEST(RpmSolver, PinnedVersions) {
  const auto r = repo("main", {{"libb", "1.0-1"}, {"libb", "2.0-1"}, {"libb", "3.0-1"}, {"libc", "1:1.0-1"}, {"libc", "2.0-1"}});
  EXPECT_EQ(find(solve({r}, {req("libb", "= 2.0-1")}), "libb")->version, "2.0-1");
  EXPECT_EQ(find(solve({r}, {req("libb", "< 3.0")}), "libb")->version, "2.0-1");
  EXPECT_EQ(find(solve({r}, {req("libc", "2.0-1")}), "libc")->version, "2.0-1");
  EXPECT_EQ(find(solve({r}, {req("libb-1.0-1")}), "libb")->version, "1.0-1");
  const std::string e = error_of([&] { solve({r}, {req("libb", ">= 4")}); });
  EXPECT_NE(e.find("'libb': no version matches '>= 4'"), std::string::npos) << e;
}

TEST(RpmSolver, GlobRequestsEveryMatchingName) {
  const auto out = solve({repo("main", {{"lib-a", "1-1"}, {"lib-b", "1-1"}, {"tool", "1-1"}})}, {req("lib-*")});
  EXPECT_EQ(names(out), "lib-a lib-b");
}

TEST(RpmSolver, UnsatisfiableNamesThePackageAndRepository) {
  const std::string e = error_of([&] { solve({repo("main", {{"app", "1.0-1", "x86_64", requires_({"missing"})}})}, {req("app")}); });
  EXPECT_NE(e.find("requested 'app': nothing provides missing needed by app-1.0-1.x86_64"), std::string::npos) << e;
  EXPECT_NE(e.find("app-1.0-1.x86_64 (from repository main)"), std::string::npos) << e;
}

TEST(RpmSolver, UnknownNameSuggestsTheNearest) {
  const std::string e = error_of([&] { solve({repo("main", {{"systemd", "1-1"}})}, {req("sytsemd")}); });
  EXPECT_NE(e.find("'sytsemd': no package of that name or provide in any repository (did you mean 'systemd'?)"),
            std::string::npos) << e;
}

TEST(RpmSolver, InstallOrderPutsRequiresPreFirst) {
  const std::vector<Pkg> pkgs = {
      {"app", "1-1", "x86_64", "<rpm:requires>" + entries({"filesystem"}, true) + "</rpm:requires>"},
      {"filesystem", "1-1", "x86_64", requires_({"app"})}};
  const auto out = solve({repo("main", pkgs)}, {req("app")});
  ASSERT_EQ(out.resolution.install_order.size(), 2u);
  EXPECT_EQ(out.resolution.packages[out.resolution.install_order[0]].name, "filesystem");
}

TEST(RpmSolver, DownloadFactsComeFromPrimary) {
  const auto out = solve({repo("main", {{"app", "0:1.0-1", "x86_64"}})}, {req("app")});
  const ResolvedPackage& p = out.resolution.packages.at(0);
  EXPECT_EQ(p.version, "1.0-1");
  EXPECT_EQ(p.url, "http://127.0.0.1/main/Packages/app-0:1.0-1.x86_64.rpm");
  EXPECT_EQ(p.filename, "app-0:1.0-1.x86_64.rpm");
  EXPECT_EQ(p.sha256, checksum_of({"app", "0:1.0-1", "x86_64"}));
  EXPECT_EQ(p.size, 1234u);
  EXPECT_EQ(p.reason, Reason::kSystem);
  EXPECT_EQ(out.family, Family::kRpm);
}

TEST(RpmSolver, RefusesAPackageWithoutSha256) {
  auto r = repo("main", {{"app", "1.0-1"}});
  const auto at = r.primary.find("type=\"sha256\" pkgid=\"YES\">");
  r.primary.replace(at, 26 + 64, "type=\"sha1\" pkgid=\"YES\">" + std::string(40, 'a'));
  r.filelists.clear();
  const std::string e = error_of([&] { solve({r}, {req("app")}); });
  EXPECT_NE(e.find("app-1.0-1.x86_64 (from repository main) has no sha256 checksum"), std::string::npos) << e;
}

}  // namespace
}  // namespace stage::resolver
