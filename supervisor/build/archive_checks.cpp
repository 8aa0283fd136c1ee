#include "supervisor/build/archive_checks.hpp"

#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor {
namespace {

// One package to check: the first lock entry with its hash (the cache holds
// one object per hash, so equal hashes are checked once).
struct ArchiveToCheck {
  const LockedPackage* package;
  std::filesystem::path object;
};
using CheckList = std::shared_ptr<const std::vector<ArchiveToCheck>>;
using Refused = std::vector<std::pair<const LockedPackage*, std::string>>;

std::string run_name(std::size_t run) {
  return run == 0 ? "check-archives" : "check-archives-" + std::to_string(run + 1);
}

// The verifier refused these: evicts each object, so no later build uses it
// unchecked, and throws naming the first.
[[noreturn]] void evict_refused(const Refused& refused, PackageCache& cache) {
  for (const auto& entry : refused) cache.evict(cache.lock_object(entry.first->sha256));
  const auto& [first, reason] = refused.front();
  std::string message = reason + " (repository '" + first->repository + "'; removed from the cache)";
  if (refused.size() > 1) {
    message += "; " + std::to_string(refused.size() - 1) + " more refused:";
    for (std::size_t i = 1; i < refused.size(); ++i) message += " " + refused[i].first->name;
  }
  throw base::Error(base::ErrorKind::kInvalidInput, message);
}

PreparedRequest check_request(const std::vector<ArchiveToCheck>& todo, const std::filesystem::path& packages_dir,
                              const std::optional<PackageKeys>& keys) {
  // Paths in the read-only packages tree rather than fds: one verifier run
  // checks any number of packages (fds per message are capped), on every core.
  PreparedRequest p;
  p.mounts.read_only.push_back(packages_dir);
  stage::verifier::client::Request request;
  for (const ArchiveToCheck& entry : todo) {
    request.packages.push_back(package_to_verify(*entry.package, ipc::FdReference::of_path(entry.object.string())));
  }
  add_package_keys(p, keys, request);
  request.check_archive_contents = true;
  stage::verifier::client::encode(request, p.init_request().initVerifier());
  return p;
}

// Marks what the verifier accepted, then evicts what it refused.
void settle(const StageOutcome& outcome, const std::vector<ArchiveToCheck>& todo, PackageCache& cache,
            ArchiveChecks& out) {
  const auto result = stage::verifier::client::decode(outcome.result_reader().getVerifier());
  std::map<std::string, const LockedPackage*> by_name;
  for (const auto& entry : todo) by_name.emplace(entry.package->name, entry.package);
  auto asked = [&](const std::string& name) {
    const auto it = by_name.find(name);
    base::check(it != by_name.end(), "the verifier answered for package '" + name + "', which it was not asked about");
    return it->second;
  };
  for (const auto& verified : result.verified_packages) {
    const LockedPackage* pkg = asked(verified.name);
    base::check(verified.sha256 == pkg->sha256, "the verifier checked another object for '" + pkg->name + "'");
    cache.mark_archive_checked(pkg->sha256);
    ++out.checked;
  }
  Refused refused;
  for (const auto& failure : result.failures) refused.emplace_back(asked(failure.item), failure.reason);
  if (!refused.empty()) evict_refused(refused, cache);
}

}  // namespace

void add_archive_check_jobs(Orchestrator& orchestrator, const Lockfile& lock, PackageCache& cache,
                            const PackageFiles& files, const std::string& after, ArchiveChecks& out) {
  std::vector<ArchiveToCheck> all;
  std::set<std::string> seen;
  for (const auto& pkg : lock.packages) {
    if (!seen.insert(pkg.sha256).second) continue;
    if (cache.archive_checked(pkg.sha256)) {
      ++out.already;
      continue;
    }
    const auto file = files.by_name.find(pkg.name);
    base::check(file != files.by_name.end(), "package '" + pkg.name + "' is not in the cache");
    all.push_back({&pkg, file->second});
  }
  // Runs go one after another: each already uses every core.
  for (std::size_t first = 0, run = 0; first < all.size(); first += kMaxPackagesPerCheck, ++run) {
    const auto begin = all.begin() + static_cast<long>(first);
    const auto end = all.begin() + static_cast<long>(std::min(all.size(), first + kMaxPackagesPerCheck));
    CheckList todo = std::make_shared<const std::vector<ArchiveToCheck>>(begin, end);
    const std::string previous = run == 0 ? after : run_name(run - 1);
    orchestrator.add(StageJob{
        .name = run_name(run),
        .kind = ipc::proto::StageKind::VERIFIER,
        .after = previous.empty() ? std::vector<std::string>{} : std::vector<std::string>{previous},
        .prepare = [todo, dir = cache.root() / "packages", keys = files.package_keys] {
          return check_request(*todo, dir, keys);
        },
        .on_success = [todo, &cache, &out](const StageOutcome& outcome) { settle(outcome, *todo, cache, out); },
        .timeout = stage_info(ipc::proto::StageKind::VERIFIER).default_timeout,
    });
  }
}

ArchiveChecks check_archives(Orchestrator& run, const Lockfile& lock, PackageCache& cache, const PackageFiles& files,
                             Logger& log) {
  ArchiveChecks checks;
  add_archive_check_jobs(run, lock, cache, files, "", checks);
  run.run();
  log.info("Archive contents of " + std::to_string(checks.checked + checks.already) + " packages checked (" +
           std::to_string(checks.checked) + " now, " + std::to_string(checks.already) + " by earlier builds)");
  return checks;
}

}  // namespace supervisor
