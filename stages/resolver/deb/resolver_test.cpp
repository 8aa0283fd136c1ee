#include "stages/resolver/deb/resolver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>

#include "base/error.hpp"

namespace stage::resolver {
namespace {

// One stanza; `extra` holds further "Field: value" lines.
std::string pkg(const std::string& name, const std::string& version, const std::string& extra = "",
                const std::string& arch = "amd64") {
  return "Package: " + name + "\nVersion: " + version + "\nArchitecture: " + arch + "\n" + extra +
         "Filename: pool/" + name + "_" + version + "_" + arch + ".deb\nSize: 100\nSHA256: " + std::string(64, 'a') +
         "\n\n";
}

struct RepoSpec {
  std::string name;
  std::string text;
  int priority = 500;
  std::vector<std::string> allow = {};
};

Universe make_universe(const std::vector<RepoSpec>& repos, std::vector<std::string> foreign = {}) {
  Universe u("amd64", std::move(foreign));
  for (const RepoSpec& r : repos) {
    const auto id = u.add_repository(Repository{r.name, "http://127.0.0.1/" + r.name, r.priority, r.allow});
    u.add_index(id, r.text, r.name);
  }
  return u;
}

Universe one_repo(const std::string& text, std::vector<std::string> foreign = {}) {
  return make_universe({{"main", text}}, std::move(foreign));
}

Resolution run(const Universe& u, const std::vector<std::string>& specs, ResolveOptions options = {}) {
  for (const std::string& s : specs) options.requests.push_back({s, Reason::kSystem});
  return resolve(u, options);
}

// "name=version" for every chosen package, "name:arch=version" for foreign ones.
std::string chosen(const Resolution& r) {
  std::string out;
  for (const ResolvedPackage& p : r.packages) {
    out += (out.empty() ? "" : " ") + p.name + (p.architecture == "i386" ? ":i386" : "") + "=" + p.version;
  }
  return out;
}

std::string error_of(const Universe& u, const std::vector<std::string>& specs, ResolveOptions options = {}) {
  try {
    run(u, specs, std::move(options));
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    return e.message();
  }
  return "no error";
}

const ResolvedPackage& find(const Resolution& r, const std::string& name) {
  auto it = std::find_if(r.packages.begin(), r.packages.end(), [&](const auto& p) { return p.name == name; });
  EXPECT_NE(it, r.packages.end()) << name;
  return *it;
}

TEST(Resolver, FollowsDependsTransitivelyAndRecordsWhy) {
  const Universe u = one_repo(pkg("app", "1.0", "Depends: libfoo\n") + pkg("libfoo", "2.0", "Pre-Depends: libc\n") +
                              pkg("libc", "2.36") + pkg("unrelated", "1"));
  const Resolution r = run(u, {"app"});
  EXPECT_EQ(chosen(r), "app=1.0 libc=2.36 libfoo=2.0");
  EXPECT_EQ(find(r, "app").reason, Reason::kSystem);
  EXPECT_EQ(find(r, "libc").reason, Reason::kDependency);
  EXPECT_EQ(find(r, "libc").required_by, "libfoo");
  EXPECT_EQ(find(r, "libfoo").url, "http://127.0.0.1/main/pool/libfoo_2.0_amd64.deb");
  EXPECT_EQ(find(r, "libfoo").size, 100u);
  EXPECT_EQ(find(r, "libfoo").repository, "main");
}

TEST(Resolver, TakesTheFirstSatisfiableAlternative) {
  const Universe u = one_repo(pkg("app", "1", "Depends: missing | b | c\n") + pkg("b", "1") + pkg("c", "1") +
                              pkg("both", "1", "Depends: c | b\n"));
  EXPECT_EQ(chosen(run(u, {"app"})), "app=1 b=1");
  // An alternative already chosen satisfies the group even if it is not first.
  EXPECT_EQ(chosen(run(u, {"app", "both"})), "app=1 b=1 both=1");
}

TEST(Resolver, ChoosesTheVersionEachOperatorAllows) {
  const std::string libs = pkg("lib", "1.0") + pkg("lib", "2.0") + pkg("lib", "3.0");
  struct Case {
    const char* dep;
    const char* expected;  // chosen lib version, or "" when unsatisfiable
  };
  const Case cases[] = {
      {"lib", "3.0"},         {"lib (>= 2.0)", "3.0"}, {"lib (<< 2.0)", "1.0"}, {"lib (<= 2.0)", "2.0"},
      {"lib (= 2.0)", "2.0"}, {"lib (>> 2.0)", "3.0"}, {"lib (>= 4)", ""},      {"lib (< 2.0)", "2.0"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.dep);
    const Universe u = one_repo(libs + pkg("app", "1", std::string("Depends: ") + c.dep + "\n"));
    if (*c.expected) {
      EXPECT_EQ(find(run(u, {"app"}), "lib").version, c.expected);
    } else {
      EXPECT_NE(error_of(u, {"app"}).find("the newest lib available is 3.0"), std::string::npos);
    }
  }
}

TEST(Resolver, ComparesEpochsAndTildesInConstraints) {
  // 1:1.0 is newer than 2.0 because of the epoch; 2.0~rc1 is older than 2.0.
  const Universe epoch = one_repo(pkg("lib", "1:1.0") + pkg("app", "1", "Depends: lib (>= 2.0)\n"));
  EXPECT_EQ(find(run(epoch, {"app"}), "lib").version, "1:1.0");
  const Universe tilde = one_repo(pkg("lib", "2.0~rc1") + pkg("app", "1", "Depends: lib (>= 2.0)\n"));
  EXPECT_NE(error_of(tilde, {"app"}).find("the newest lib available is 2.0~rc1"), std::string::npos);
}

TEST(Resolver, SatisfiesVirtualPackagesThroughProvides) {
  const std::string base = pkg("postfix", "3.7", "Provides: mail-transport-agent\n") +
                           pkg("exim4", "4.96", "Provides: mail-transport-agent (= 2)\n");
  // Unversioned: any provider; providers are taken in name order.
  EXPECT_EQ(chosen(run(one_repo(base + pkg("app", "1", "Depends: mail-transport-agent\n")), {"app"})),
            "app=1 exim4=4.96");
  // Versioned: only a versioned Provides counts.
  const Universe versioned = one_repo(base + pkg("app", "1", "Depends: mail-transport-agent (>= 2)\n"));
  EXPECT_EQ(chosen(run(versioned, {"app"})), "app=1 exim4=4.96");
  const Universe too_new = one_repo(base + pkg("app", "1", "Depends: mail-transport-agent (>= 3)\n"));
  const std::string err = error_of(too_new, {"app"});
  EXPECT_NE(err.find("mail-transport-agent is a virtual package and no provider fits"), std::string::npos) << err;
  EXPECT_NE(err.find("postfix 3.7 (unversioned)"), std::string::npos) << err;
}

TEST(Resolver, PrefersARealPackageOverProviders) {
  const Universe u = one_repo(pkg("awk", "1", "Provides: mawk\n") + pkg("mawk", "1.3") +
                              pkg("app", "1", "Depends: mawk\n"));
  EXPECT_EQ(chosen(run(u, {"app"})), "app=1 mawk=1.3");
}

TEST(Resolver, ConflictsForceTheOtherAlternative) {
  const Universe u = one_repo(pkg("app", "1", "Depends: a | b\n") + pkg("a", "1", "Conflicts: base\n") +
                              pkg("b", "1") + pkg("base", "1"));
  EXPECT_EQ(chosen(run(u, {"base", "app"})), "app=1 b=1 base=1");
}

TEST(Resolver, BreaksOfAChosenPackageForceTheOtherAlternative) {
  // The chosen package's Breaks names the candidate (reverse direction), versioned.
  const Universe u = one_repo(pkg("app", "1", "Depends: a | b\n") + pkg("a", "1") + pkg("b", "1") +
                              pkg("guard", "1", "Breaks: a (<< 2)\n"));
  EXPECT_EQ(chosen(run(u, {"guard", "app"})), "app=1 b=1 guard=1");
  const Universe newer = one_repo(pkg("app", "1", "Depends: a | b\n") + pkg("a", "2") + pkg("b", "1") +
                                  pkg("guard", "1", "Breaks: a (<< 2)\n"));
  EXPECT_EQ(chosen(run(newer, {"guard", "app"})), "a=2 app=1 guard=1");
}

TEST(Resolver, ConflictsOnAVirtualPackageMatchProvidersButNotItself) {
  // Debian's usual pattern: provide, conflict and replace the same virtual package.
  const Universe u = one_repo(pkg("postfix", "1", "Provides: mta\nConflicts: mta\n") +
                              pkg("exim4", "1", "Provides: mta\nConflicts: mta\n"));
  EXPECT_EQ(chosen(run(u, {"postfix"})), "postfix=1");
  const std::string err = error_of(u, {"postfix", "exim4"});
  EXPECT_NE(err.find("cannot satisfy 'exim4': exim4 1 conflicts with mta, and postfix 1 (requested as 'postfix')"
                     " is selected"),
            std::string::npos)
      << err;
}

TEST(Resolver, ReportsAConflictThatLeavesNoChoice) {
  const Universe u = one_repo(pkg("app", "1", "Depends: a\n") + pkg("a", "1", "Breaks: base (<< 3)\n") +
                              pkg("base", "2"));
  EXPECT_EQ(error_of(u, {"base", "app"}),
            "cannot satisfy 'app': app 1 depends on a; a 1 breaks base (<< 3), and base 2 (requested as 'base') is "
            "selected");
}

TEST(Resolver, RefusesTwoVersionsOfOnePackage) {
  const Universe u = one_repo(pkg("a", "1", "Depends: libtest (= 0.1)\n") +
                              pkg("b", "1", "Depends: libtest (= 0.2)\n") + pkg("libtest", "0.1") +
                              pkg("libtest", "0.2"));
  const std::string err = error_of(u, {"a", "b"});
  EXPECT_NE(err.find("cannot satisfy 'b': b 1 depends on libtest (= 0.2); libtest 0.2 cannot be selected because "
                     "libtest 0.1 (required by a) already is"),
            std::string::npos)
      << err;
}

TEST(Resolver, MultiArchForeignSatisfiesDependsFromAnyArchitecture) {
  const std::string text = pkg("tool", "1", "Multi-Arch: foreign\n") + pkg("app", "1", "Depends: tool\n", "i386");
  EXPECT_EQ(chosen(run(one_repo(text, {"i386"}), {"app:i386"})), "app:i386=1 tool=1");
  const std::string no_ma = pkg("tool", "1") + pkg("app", "1", "Depends: tool\n", "i386");
  const std::string err = error_of(one_repo(no_ma, {"i386"}), {"app:i386"});
  EXPECT_NE(err.find("tool 1 is built for amd64, not for i386"), std::string::npos) << err;
}

TEST(Resolver, MultiArchSameIsCoinstallableAcrossArchitectures) {
  const std::string text = pkg("libc6", "2.36", "Multi-Arch: same\n") +
                           pkg("libc6", "2.36", "Multi-Arch: same\n", "i386") +
                           pkg("app", "1", "Depends: libc6\n") + pkg("app32", "1", "Depends: libc6\n", "i386");
  EXPECT_EQ(chosen(run(one_repo(text, {"i386"}), {"app", "app32:i386"})),
            "app=1 app32:i386=1 libc6=2.36 libc6:i386=2.36");
  // Without Multi-Arch: same a package exists once, whatever the architecture.
  const std::string plain = pkg("libz", "1") + pkg("libz", "1", "", "i386") + pkg("app", "1", "Depends: libz\n") +
                            pkg("app32", "1", "Depends: libz\n", "i386");
  const std::string err = error_of(one_repo(plain, {"i386"}), {"app", "app32:i386"});
  EXPECT_NE(err.find("libz 1 cannot be selected because libz 1 (required by app) already is"), std::string::npos)
      << err;
}

TEST(Resolver, AnyQualifierNeedsMultiArchAllowed) {
  struct Case {
    const char* multi_arch;
    bool satisfied;
  };
  // dpkg: "pkg:any" is satisfied only by Multi-Arch: allowed (foreign does not count).
  const Case cases[] = {{"allowed", true}, {"foreign", false}, {"same", false}, {"no", false}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.multi_arch);
    const Universe u = one_repo(pkg("python3", "3.11", std::string("Multi-Arch: ") + c.multi_arch + "\n") +
                                pkg("app", "1", "Depends: python3:any\n"));
    if (c.satisfied) {
      EXPECT_EQ(chosen(run(u, {"app"})), "app=1 python3=3.11");
    } else {
      EXPECT_NE(error_of(u, {"app"}).find("is not Multi-Arch: allowed"), std::string::npos);
    }
  }
}

TEST(Resolver, ArchitectureAllCountsAsNativeAndOtherArchitecturesAreIgnored) {
  const Universe u = one_repo(pkg("data", "1", "", "all") + pkg("app", "1", "Depends: data, lib\n", "all") +
                              pkg("lib", "9", "", "arm64") + pkg("lib", "1"));
  EXPECT_EQ(chosen(run(u, {"app"})), "app=1 data=1 lib=1");
}

TEST(Resolver, BaseSetFollowsEssentialAndRequired) {
  const std::string text = pkg("base-files", "12", "Essential: yes\nPriority: required\n") +
                           pkg("mawk", "1", "Priority: required\n") + pkg("sed", "4", "Essential: yes\n") +
                           pkg("vim", "9", "Priority: optional\n") + pkg("dash", "0.5", "Priority: optional\n");
  const Universe u = one_repo(text);
  ResolveOptions essential;
  essential.base = BaseSet::kEssential;
  EXPECT_EQ(chosen(run(u, {}, essential)), "base-files=12 sed=4");
  ResolveOptions required;
  required.base = BaseSet::kRequired;
  const Resolution r = run(u, {}, required);
  EXPECT_EQ(chosen(r), "base-files=12 mawk=1 sed=4");
  EXPECT_EQ(find(r, "mawk").reason, Reason::kEssential);
  ResolveOptions list;  // the explicit chroot-style list
  list.essential = {"dash"};
  EXPECT_EQ(find(run(u, {"dash", "vim"}, list), "dash").reason, Reason::kEssential);
}

TEST(Resolver, HigherRepositoryPriorityWinsThenHigherVersion) {
  const std::vector<RepoSpec> repos = {
      {"base", pkg("curl", "8.0"), 500}, {"vendor", pkg("curl", "7.68"), 1001}, {"same", pkg("curl", "7.99"), 500}};
  const Resolution r = run(make_universe(repos), {"curl"});
  EXPECT_EQ(find(r, "curl").repository, "vendor");
  EXPECT_EQ(find(r, "curl").version, "7.68");
  const std::vector<RepoSpec> equal = {{"base", pkg("curl", "8.0"), 500}, {"extra", pkg("curl", "8.1"), 500}};
  EXPECT_EQ(find(run(make_universe(equal), {"curl"}), "curl").repository, "extra");
}

TEST(Resolver, NegativePriorityBlocksARepository) {
  const std::vector<RepoSpec> repos = {{"bad", pkg("test", "2.0") + pkg("only", "1"), -1},
                                       {"good", pkg("test", "1.5"), 500}};
  const Universe u = make_universe(repos);
  EXPECT_EQ(find(run(u, {"test"}), "test").version, "1.5");
  EXPECT_EQ(error_of(u, {"only"}),
            "cannot satisfy 'only': no package 'only' is available (blocked by the negative priority of repository "
            "'bad')");
}

TEST(AllowPackages, MatchesExactPrefixAndGlob) {
  struct Case {
    const char* pattern;
    const char* name;
    const char* version;
    bool expected;
  };
  const Case cases[] = {
      {"spice-server", "spice-server", "1", true},    // exact
      {"spice-server", "spice-server-dev", "1", false},
      {"kernel-6.17.11", "kernel", "6.17.11-1", true},  // name-version prefix
      {"kernel_6.17", "kernel", "6.17.11-1", true},     // name_version prefix
      {"kernel-6.17.11", "kernel", "6.18.0-1", false},
      {"kernel-drivers-gpu-6.17.11", "kernel", "6.17.11", false},
      {"libva*", "libva2", "2.17", true},  // glob
      {"libva*", "va-driver", "2.17", false},
      {"lib?z", "libzz", "1", true},
      {"lib[xy]z", "libyz", "1", true},
      {"lib[xy]z", "libzz", "1", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.pattern) + " ~ " + c.name);
    EXPECT_EQ(allow_pattern_matches(c.pattern, c.name, c.version), c.expected);
  }
}

TEST(AllowPackages, FiltersOnlyTheirRepository) {
  const std::vector<RepoSpec> repos = {
      {"vendor", pkg("libva2", "9") + pkg("curl", "99") + pkg("kernel", "6.17.11-1"), 900, {"libva*", "kernel-6.17"}},
      {"base", pkg("curl", "8") + pkg("libva2", "2"), 500}};
  const Universe u = make_universe(repos);
  const Resolution r = run(u, {"curl", "libva2", "kernel"});
  EXPECT_EQ(find(r, "curl").repository, "base");
  EXPECT_EQ(find(r, "libva2").repository, "vendor");
  EXPECT_EQ(find(r, "kernel").repository, "vendor");
  const Universe only_vendor = make_universe({repos[0]});
  EXPECT_NE(error_of(only_vendor, {"curl"}).find("excluded by allowPackages of repository 'vendor'"),
            std::string::npos);
}

TEST(Resolver, PinsSelectAnExactVersion) {
  const Universe u = one_repo(pkg("curl", "7.88.1-10+deb12u12") + pkg("curl", "7.88.1-10+deb12u5"));
  EXPECT_EQ(chosen(run(u, {"curl_7.88.1-10+deb12u5"})), "curl=7.88.1-10+deb12u5");
  EXPECT_EQ(chosen(run(u, {"curl"})), "curl=7.88.1-10+deb12u12");
  EXPECT_EQ(error_of(u, {"curl_7.0"}),
            "cannot satisfy 'curl_7.0': the newest curl available is 7.88.1-10+deb12u12 in repository 'main'");
}

TEST(Resolver, RequestsCanCarryAVersionConstraint) {
  const Universe u = one_repo(pkg("curl", "8.0") + pkg("curl", "7.88") + pkg("curl", "7.50"));
  ResolveOptions options;
  options.requests = {{"curl", Reason::kSystem, RelOp::kLess, "8"}};
  EXPECT_EQ(chosen(resolve(u, options)), "curl=7.88");
  options.requests = {{"cur*", Reason::kSystem, RelOp::kLessEqual, "7.50"}};
  EXPECT_EQ(chosen(resolve(u, options)), "curl=7.50");
  options.requests = {{"curl_7.88", Reason::kSystem, RelOp::kGreaterEqual, "1"}};
  EXPECT_THROW(resolve(u, options), base::Error);  // a pin and a constraint at once
}

TEST(Resolver, ExcludedPackagesAreNeverChosen) {
  const Universe u = one_repo(pkg("app", "1", "Depends: a | b\n") + pkg("a", "1") + pkg("b", "1") +
                              pkg("mawk", "1", "Priority: required\n") + pkg("sed", "1", "Priority: required\n"));
  ResolveOptions options;
  options.excluded = {"a", "mawk"};
  options.base = BaseSet::kRequired;
  EXPECT_EQ(chosen(run(u, {"app"}, options)), "app=1 b=1 sed=1");
  ResolveOptions only_a;
  only_a.excluded = {"a", "b"};
  EXPECT_EQ(error_of(u, {"app"}, only_a), "cannot satisfy 'app': app 1 depends on a | b; a is excluded by the request; "
                                          "b is excluded by the request");
}

TEST(Resolver, GlobsSelectEveryMatchingName) {
  const Universe u = one_repo(pkg("libssl-dev", "3") + pkg("libz-dev", "1") + pkg("libz1", "1") + pkg("zlib-dev", "1"));
  EXPECT_EQ(chosen(run(u, {"lib*-dev"})), "libssl-dev=3 libz-dev=1");
  EXPECT_EQ(error_of(u, {"nothing*"}), "cannot satisfy 'nothing*': no package name matches the pattern");
}

TEST(Resolver, ExplainsTheChainFromTheRequestToTheFailingRelation) {
  const Universe direct = one_repo(pkg("app", "1.0", "Depends: libfoo (>= 2)\n") + pkg("libfoo", "1.4"));
  EXPECT_EQ(error_of(direct, {"app"}),
            "cannot satisfy 'app': app 1.0 depends on libfoo (>= 2); the newest libfoo available is 1.4 in "
            "repository 'main'");
  const Universe deep = one_repo(pkg("top", "3", "Depends: mid | nothing\n") +
                                 pkg("mid", "2", "Pre-Depends: app\n") + pkg("app", "1.0", "Depends: libfoo (>= 2)\n") +
                                 pkg("libfoo", "1.4"));
  EXPECT_EQ(error_of(deep, {"top"}),
            "cannot satisfy 'top': top 3 depends on mid | nothing; mid 2 pre-depends on app; app 1.0 depends on "
            "libfoo (>= 2); the newest libfoo available is 1.4 in repository 'main'");
  EXPECT_EQ(error_of(deep, {"absent"}), "cannot satisfy 'absent': no package 'absent' is available");
}

TEST(Resolver, ResultDoesNotDependOnStanzaOrder) {
  std::vector<std::string> stanzas = {
      pkg("app", "1", "Depends: mta, a | b, lib (>= 1)\n"), pkg("postfix", "1", "Provides: mta\n"),
      pkg("exim4", "1", "Provides: mta\n"), pkg("a", "1", "Depends: lib\n"), pkg("b", "1"), pkg("lib", "1"),
      pkg("lib", "2"), pkg("lib", "2", "", "all"), pkg("cyc1", "1", "Depends: cyc2\n"),
      pkg("cyc2", "1", "Depends: cyc1, app\n")};
  auto render = [](const Resolution& r) {
    std::string out = chosen(r) + " |";
    for (std::size_t i : r.install_order) out += " " + r.packages[i].name;
    return out + " | " + write_dot(r);
  };
  std::string first;
  std::mt19937 rng(42);
  for (int round = 0; round < 8; ++round) {
    std::shuffle(stanzas.begin(), stanzas.end(), rng);
    std::string text;
    for (const auto& s : stanzas) text += s;
    const std::string out = render(run(one_repo(text), {"cyc1"}));
    if (round == 0) first = out;
    EXPECT_EQ(out, first) << "round " << round;
  }
  EXPECT_NE(first.find("exim4=1"), std::string::npos) << first;
}

std::vector<std::string> order_names(const Resolution& r) {
  std::vector<std::string> out;
  for (std::size_t i : r.install_order) out.push_back(r.packages[i].name);
  return out;
}

// Packages view into the index texts, which the Universe keeps: neither the
// caller's pointer nor the Universe's own move may leave a view dangling.
TEST(Universe, KeepsTheIndexTextsItsPackagesViewInto) {
  auto text = std::make_shared<const IndexText>(pkg("app", "1", "Provides: tool (= 2)\nDepends: lib\n") +
                                                pkg("lib", "2"));
  const std::weak_ptr<const IndexText> watch = text;
  {
    Universe u("amd64");
    u.add_index(u.add_repository(Repository{"main", "http://127.0.0.1/main"}), std::move(text), "main");
    const Universe moved = std::move(u);
    EXPECT_FALSE(watch.expired());
    EXPECT_EQ(chosen(run(moved, {"tool"})), "app=1 lib=2");
    ASSERT_EQ(moved.providers("tool").size(), 1u);
    EXPECT_EQ(moved.package(moved.providers("tool")[0].pkg).provides[0].version, "2");
  }
  EXPECT_TRUE(watch.expired());
}

TEST(Universe, RejectsStanzasOfAnotherText) {
  const auto text = std::make_shared<const IndexText>(pkg("a", "1"));
  const std::string other = pkg("a", "1");
  Universe u("amd64");
  const auto repo = u.add_repository(Repository{"main", "http://127.0.0.1/main"});
  EXPECT_THROW(u.add_stanzas(repo, text, parse_packages_index(other, "other")), base::Error);
}

TEST(InstallOrder, PutsDependenciesFirstAndHonoursPreDependsInsideCycles) {
  // aaa and zzz form a cycle; aaa pre-depends on zzz, so zzz goes first even
  // though name order would put aaa first. libc is outside the cycle.
  const Universe u = one_repo(pkg("aaa", "1", "Pre-Depends: zzz\nDepends: libc\n") +
                              pkg("zzz", "1", "Depends: aaa, libc\n") + pkg("libc", "1") +
                              pkg("app", "1", "Depends: aaa\n"));
  const Resolution r = run(u, {"app"});
  EXPECT_EQ(order_names(r), (std::vector<std::string>{"libc", "zzz", "aaa", "app"}));
}

TEST(InstallOrder, BreaksPlainCyclesByName) {
  const Universe u = one_repo(pkg("m", "1", "Depends: b\n") + pkg("b", "1", "Depends: c\n") +
                              pkg("c", "1", "Depends: m\n"));
  EXPECT_EQ(order_names(run(u, {"m"})), (std::vector<std::string>{"b", "c", "m"}));
}

TEST(DotGraph, ColoursBySourceAndCanShowOnlySystemPackages) {
  const Universe u = one_repo(pkg("base", "1", "Essential: yes\n") + pkg("app", "1", "Pre-Depends: lib\n") +
                              pkg("lib", "1") + pkg("linux-image", "6.1"));
  ResolveOptions options;
  options.base = BaseSet::kEssential;
  options.requests = {{"linux-image", Reason::kKernel}, {"app", Reason::kSystem}};
  const Resolution r = resolve(u, options);
  const std::string dot = write_dot(r);
  EXPECT_NE(dot.find("\"base:amd64\" [label=\"base\\n1\", fillcolor=salmon]"), std::string::npos) << dot;
  EXPECT_NE(dot.find("fillcolor=lightblue"), std::string::npos);
  EXPECT_NE(dot.find("\"app:amd64\" -> \"lib:amd64\" [style=bold];"), std::string::npos) << dot;
  const std::string system = write_dot(r, DotOptions{true});
  EXPECT_EQ(system.find("base:amd64"), std::string::npos) << system;
  EXPECT_EQ(system.find("linux-image"), std::string::npos) << system;
  EXPECT_NE(system.find("lib:amd64"), std::string::npos) << system;
}

}  // namespace
}  // namespace stage::resolver
