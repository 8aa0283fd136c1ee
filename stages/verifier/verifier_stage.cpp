#include "stages/verifier/verifier_stage.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <exception>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include "base/error.hpp"
#include "stages/verifier/cores.hpp"
#include "stages/verifier/family.hpp"
#include "stages/verifier/file_bytes.hpp"

namespace stage::verifier {
namespace {

using ipc::proto::VerifierRequest;

bool is_lower_sha256_hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::chrono::sys_seconds check_time(std::int64_t unix_time) {
  base::require(unix_time >= -1,
               "Failed to accept verifier request: checkTime must be -1 (now) or a unix time");
  if (unix_time == -1) {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  }
  return std::chrono::sys_seconds{std::chrono::seconds{unix_time}};
}

base::UniqueFd open_file(ipc::StageContext& context, ipc::proto::FdRef::Reader ref,
                            const std::string& what) {
  return context.open(ref, O_RDONLY | O_NOCTTY, what);
}

void decode_deb_files(VerifierRequest::Repository::Deb::Reader deb, ipc::StageContext& context,
                      const std::string& where, std::chrono::sys_seconds now, RepositoryInput& in) {
  in.request.suite = deb.getSuite();
  in.request.now = now;
  for (const auto component : deb.getComponents()) in.request.components.emplace_back(component);
  for (const auto arch : deb.getArchitectures()) in.architectures.emplace_back(arch);

  const auto files = deb.getReleaseFiles();
  if (files.isInRelease()) {
    in.inrelease = open_file(context, files.getInRelease(), "InRelease of " + where);
  } else {
    in.release = open_file(context, files.getDetached().getRelease(), "Release of " + where);
    in.signature =
        open_file(context, files.getDetached().getSignature(), "Release.gpg of " + where);
  }
}

void decode_rpm_files(VerifierRequest::Repository::Rpm::Reader rpm, ipc::StageContext& context,
                      const std::string& where, RepositoryInput& in) {
  RpmRepomdInput& files = in.rpm.emplace();
  files.repomd = open_file(context, rpm.getRepomd(), "repomd.xml of " + where);
  if (rpm.hasRepomdSignature()) {
    files.signature = open_file(context, rpm.getRepomdSignature(), "repomd.xml.asc of " + where);
  }
}

RepositoryInput decode_repository(VerifierRequest::Repository::Reader repo,
                                  ipc::StageContext& context, std::chrono::sys_seconds now) {
  RepositoryInput in;
  in.request.repository = repo.getName();
  base::require(!in.request.repository.empty(),
               "Failed to accept verifier request: a repository has no name");
  const std::string where = "repository '" + in.request.repository + "'";
  if (repo.isRpm()) {
    decode_rpm_files(repo.getRpm(), context, where, in);
  } else {
    decode_deb_files(repo.getDeb(), context, where, now, in);
  }
  // Key files are small and read once, so nothing can swap them later.
  for (const auto key : repo.getKeys()) {
    KeyBytes bytes;
    bytes.origin = "key file " + std::to_string(in.request.keys.size() + 1) + " of " + where;
    bytes.bytes =
        read_fd_bytes(open_file(context, key.getFile(), bytes.origin).get(), bytes.origin);
    bytes.fingerprint = key.getFingerprint();
    in.request.keys.push_back(std::move(bytes));
  }
  for (const auto index : repo.getIndexFiles()) {
    std::string path = index.getRelativePath();
    base::require(!path.empty(),
                 "Failed to accept " + where + ": an index file has no relativePath");
    const std::string what = "index '" + path + "' of " + where;
    IndexInput item{path, open_file(context, index.getFile(), what), {}, {}};
    if (index.hasUncompressedOut()) {
      item.uncompressed_out =
          context.open(index.getUncompressedOut(), O_WRONLY | O_NOCTTY, "uncompressed output of " + what);
    }
    if (index.hasCachedUncompressed()) {
      item.cached = open_file(context, index.getCachedUncompressed(), "cached uncompressed copy of " + what);
    }
    in.indexes.push_back(std::move(item));
  }
  return in;
}

PackageInput decode_package(VerifierRequest::PackageFile::Reader package,
                            ipc::StageContext& context) {
  PackageInput in;
  in.name = package.getName();
  in.repo = package.getRepo();
  base::require(!in.name.empty(), "Failed to accept verifier request: a package has no name");
  const std::string where = "package '" + in.name + "'";
  in.expected_sha256 = package.getExpectedSha256();
  base::require(is_lower_sha256_hex(in.expected_sha256),
               "Failed to accept " + where + ": expectedSha256 is not 64 lower-case hex digits");
  base::require(package.getExpectedSize() >= -1,
               "Failed to accept " + where + ": expectedSize is negative");
  if (package.getExpectedSize() >= 0) {
    in.expected_size = static_cast<std::uint64_t>(package.getExpectedSize());
  }
  in.fd = open_file(context, package.getFile(), where);
  return in;
}

// RPM: the keys each repository's packages must be signed by, read once.
std::vector<RepositoryKeys> decode_package_keys(capnp::List<VerifierRequest::RepositoryKeys>::Reader list,
                                                ipc::StageContext& context) {
  std::vector<RepositoryKeys> out;
  for (const auto entry : list) {
    RepositoryKeys keys{entry.getRepo(), {}};
    base::require(!keys.repo.empty(), "Failed to accept verifier request: package keys name no repository");
    const std::string where = "package key file of repository '" + keys.repo + "'";
    for (const auto key : entry.getKeys()) {
      KeyBytes bytes;
      bytes.origin = where + " " + std::to_string(keys.keys.size() + 1);
      bytes.bytes = read_fd_bytes(open_file(context, key.getFile(), bytes.origin).get(), bytes.origin);
      bytes.fingerprint = key.getFingerprint();
      keys.keys.push_back(std::move(bytes));
    }
    out.push_back(std::move(keys));
  }
  return out;
}

// Files (Release, index or package) done out of all of one phase.
class PhaseProgress {
 public:
  // Reported at once, so the phase (and its step in the timing table) starts
  // with its first file, not when that file is done.
  PhaseProgress(ipc::StageContext& context, std::string phase, std::size_t total)
      : context_(context), phase_(std::move(phase)), total_(total) {
    if (total_ > 0) context_.progress({.phase = phase_, .total = total_, .files_total = static_cast<std::uint32_t>(total_)});
  }

  void done(const std::string& item, std::uint64_t bytes = 0) {
    const std::lock_guard lock(mutex_);
    ++done_;
    bytes_ += bytes;
    ipc::ProgressUpdate update;
    update.phase = phase_;
    update.done = done_;
    update.total = total_;
    update.files_done = static_cast<std::uint32_t>(done_);
    update.files_total = static_cast<std::uint32_t>(total_);
    update.bytes_done = bytes_;
    update.item = item;
    context_.progress(update);
  }

 private:
  ipc::StageContext& context_;
  std::string phase_;
  std::size_t total_;
  std::mutex mutex_;  // packages finish on several threads
  std::size_t done_ = 0;
  std::uint64_t bytes_ = 0;
};

// Repositories are checked on one thread per core: each has its own GnuPG
// home (so a repository is only ever verified by its own keys), and gpg's
// start-up and key import dominate a warm lock. Results keep request order,
// and the error of the first failing repository in that order is thrown.
void verify_repositories(VerifyInput& input, const FamilyChecks& family, ipc::StageContext& context,
                         VerifyOutcome& out) {
  std::size_t total = 0;
  for (const auto& repo : input.repositories) total += 1 + repo.indexes.size();
  PhaseProgress progress(context, "verify-repos", total);
  const std::size_t count = input.repositories.size();
  std::vector<std::optional<CheckedRepository>> checked(count);
  const FileChecked done = [&](const std::string& item, std::uint64_t bytes) { progress.done(item, bytes); };
  std::vector<std::exception_ptr> errors(count);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t r = next++; r < count; r = next++) {
      try {
        context.check_cancelled();
        RepositoryInput& repo = input.repositories[r];
        checked[r] = (repo.rpm ? rpm_checks() : family).check_repository(repo, context, done);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    }
  };
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 1; t < std::min<std::size_t>(usable_cores(), count); ++t) pool.emplace_back(work);
    work();
  }
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  for (std::size_t r = 0; r < count; ++r) {
    for (auto& index : checked[r]->indexes) out.indexes.push_back(std::move(index));
    out.repos.push_back({input.repositories[r].request.repository, std::move(checked[r]->release),
                         std::move(checked[r]->listed_files)});
  }
}

// What checks a package beyond its hash: the family that signs packages
// (RPM), or Debian's archive check (its packages are vouched for by the
// hash chain from the Release alone).
struct PackageCheckers {
  const FamilyChecks& family;
  const PackageChecks* signed_packages;  // null: Debian
  bool check_archive;
};

Digest verify_package(const PackageInput& package, const PackageCheckers& checks) {
  const std::string what = "package '" + package.name + "'";
  const Digest actual = sha256_of_fd(package.fd.get(), what);
  PackageRecord expected;
  expected.package = package.name;
  expected.sha256 = package.expected_sha256;
  // An unknown size cannot mismatch; the hash alone decides then.
  expected.size = package.expected_size.value_or(actual.size);
  check_package(expected, actual, package.repo);
  if (checks.signed_packages) {
    checks.signed_packages->check_package(package.fd.get(), package.name, package.repo, checks.check_archive);
  } else if (checks.check_archive) {
    base::check_syscall(::lseek(package.fd.get(), 0, SEEK_SET), "rewind", what);
    checks.family.check_package_archive(package.fd.get(), package.name);
  }
  return actual;
}

std::uint64_t size_of(const PackageInput& package) {
  if (package.expected_size) return *package.expected_size;
  struct stat st{};
  return ::fstat(package.fd.get(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// Packages are checked on one thread per core, largest first: the archive
// walk (decompressing data.tar) is what a batch spends its time on, and the
// biggest package would otherwise start last and finish alone. Checking
// archive contents, every package is checked and each one refused is listed
// in out.failures (the caller evicts exactly those); otherwise the first
// package that fails stops the run and is thrown.
void verify_packages(const VerifyInput& input, const PackageCheckers& checks, ipc::StageContext& context,
                     VerifyOutcome& out) {
  const auto& packages = input.packages;
  PhaseProgress progress(context, "verify-packages", packages.size());
  std::vector<std::size_t> order(packages.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::vector<std::uint64_t> sizes(packages.size());
  for (std::size_t i = 0; i < packages.size(); ++i) sizes[i] = size_of(packages[i]);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return sizes[a] > sizes[b]; });

  std::vector<Digest> digests(packages.size());
  std::vector<std::exception_ptr> errors(packages.size());
  std::vector<std::optional<std::string>> refused(packages.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (std::size_t k = next++; k < order.size() && !failed; k = next++) {
      const std::size_t i = order[k];
      try {
        context.check_cancelled();
        digests[i] = verify_package(packages[i], checks);
        progress.done(packages[i].name, digests[i].size);
      } catch (const base::Error& e) {
        if (input.check_archive_contents && e.kind() == base::ErrorKind::kInvalidInput) {
          refused[i] = e.message();
          progress.done(packages[i].name);
          continue;
        }
        errors[i] = std::current_exception();
        failed = true;
      } catch (...) {
        errors[i] = std::current_exception();
        failed = true;
      }
    }
  };
  const std::size_t threads = std::min<std::size_t>(usable_cores(), packages.size());
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
  }
  // The first failing package in request order, among those checked.
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  for (std::size_t i = 0; i < packages.size(); ++i) {
    if (refused[i]) {
      out.failures.push_back({packages[i].name, *refused[i]});
    } else {
      out.packages.push_back({packages[i].name, packages[i].repo, digests[i]});
    }
  }
}

void encode_uncompressed(const VerifiedIndex& index, ipc::proto::VerifierResult::Index::Builder out) {
  using Uncompressed = ipc::proto::VerifierResult::Index::Uncompressed;
  switch (index.uncompressed) {
    case IndexText::Source::kNone: out.setUncompressed(Uncompressed::NONE); break;
    case IndexText::Source::kDecompressed: out.setUncompressed(Uncompressed::WRITTEN); break;
    case IndexText::Source::kCached: out.setUncompressed(Uncompressed::CACHED); break;
  }
  if (index.uncompressed_listed) {
    out.setUncompressedSha256(index.uncompressed_listed->sha256);
    out.setUncompressedSize(index.uncompressed_listed->size);
  }
  out.setCacheRefusal(index.cache_refusal);
}

// What every verified file reports: its repository and digest.
template <typename FileBuilder>
void encode_file(const std::string& repo, const Digest& digest, FileBuilder out) {
  out.setRepo(repo);
  out.setSha256(digest.sha256);
  out.setSize(digest.size);
}

// What the signed metadata lists: the Release's SHA256 entries, repomd.xml's <data> entries.
void encode_listed_files(const std::vector<ListedFile>& files, ipc::proto::VerifierResult::Repo::Builder out) {
  auto listed = out.initListedFiles(static_cast<unsigned>(files.size()));
  for (unsigned f = 0; f < files.size(); ++f) {
    listed[f].setKind(files[f].kind);
    listed[f].setRelativePath(files[f].relative_path);
    listed[f].setSha256(files[f].digest.sha256);
    listed[f].setSize(files[f].digest.size);
    if (files[f].uncompressed) {
      listed[f].setUncompressedSha256(files[f].uncompressed->sha256);
      listed[f].setUncompressedSize(files[f].uncompressed->size);
    }
  }
}

void encode_outcome(const VerifyOutcome& outcome, ipc::proto::VerifierResult::Builder out) {
  auto repos = out.initVerifiedRepos(static_cast<unsigned>(outcome.repos.size()));
  for (unsigned i = 0; i < outcome.repos.size(); ++i) {
    const Release& r = outcome.repos[i].release;
    repos[i].setName(outcome.repos[i].name);
    repos[i].setSignerFingerprint(r.signer_fingerprint);
    repos[i].setDate(r.date ? r.date->time_since_epoch().count() : -1);
    repos[i].setValidUntil(r.valid_until ? r.valid_until->time_since_epoch().count() : -1);
    repos[i].setSuite(r.suite);
    repos[i].setCodename(r.codename);
    repos[i].setAcquireByHash(r.acquire_by_hash);
    encode_listed_files(outcome.repos[i].listed_files, repos[i]);
  }
  auto indexes = out.initVerifiedIndexes(static_cast<unsigned>(outcome.indexes.size()));
  for (unsigned i = 0; i < outcome.indexes.size(); ++i) {
    const VerifiedIndex& index = outcome.indexes[i];
    indexes[i].setRelativePath(index.relative_path);
    encode_file(index.repo, index.digest, indexes[i]);
    encode_uncompressed(index, indexes[i]);
  }
  auto packages = out.initVerifiedPackages(static_cast<unsigned>(outcome.packages.size()));
  for (unsigned i = 0; i < outcome.packages.size(); ++i) {
    packages[i].setName(outcome.packages[i].name);
    encode_file(outcome.packages[i].repo, outcome.packages[i].digest, packages[i]);
  }
  auto failures = out.initFailures(static_cast<unsigned>(outcome.failures.size()));
  for (unsigned i = 0; i < outcome.failures.size(); ++i) {
    failures[i].setItem(outcome.failures[i].item);
    failures[i].setReason(outcome.failures[i].reason);
  }
}

}  // namespace

VerifyInput decode_request(VerifierRequest::Reader request, ipc::StageContext& context) {
  VerifyInput in;
  const auto now = check_time(request.getCheckTime());
  for (const auto repo : request.getRepositories()) {
    in.repositories.push_back(decode_repository(repo, context, now));
  }
  if (request.getPackageFamily().isRpm()) in.rpm_keys = decode_package_keys(request.getPackageFamily().getRpm(), context);
  for (const auto package : request.getPackages()) {
    in.packages.push_back(decode_package(package, context));
  }
  in.check_archive_contents = request.getCheckArchiveContents();
  return in;
}

VerifyOutcome verify_all(VerifyInput& input, ipc::StageContext& context) {
  // Debian's unless a repository or the request's packageFamily is RPM's.
  const FamilyChecks& family = deb_checks();
  VerifyOutcome out;
  verify_repositories(input, family, context, out);
  const auto rpm = input.rpm_keys ? rpm_package_checks(*input.rpm_keys) : nullptr;
  verify_packages(input, {family, rpm.get(), input.check_archive_contents}, context, out);
  return out;
}

void run_request(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
                 ipc::proto::StageResult::Builder result) {
  base::require(request.isVerifier(),
               "Failed to run stage-verifier: the request is for another stage");
  VerifyInput input = decode_request(request.getVerifier(), context);
  const VerifyOutcome outcome = verify_all(input, context);
  encode_outcome(outcome, result.initVerifier());
}

}  // namespace stage::verifier
