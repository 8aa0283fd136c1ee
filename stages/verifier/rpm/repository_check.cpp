#include "stages/verifier/rpm/repository_check.hpp"

#include <sys/stat.h>

#include <charconv>

#include "base/error.hpp"
#include "stages/verifier/deb/index_check.hpp"
#include "stages/verifier/file_bytes.hpp"
#include "stages/verifier/gpg_home.hpp"
#include "stages/verifier/signature.hpp"

namespace stage::verifier::rpm {
namespace {

constexpr std::string_view kCompressedSuffixes[] = {".gz", ".xz", ".zst", ".bz2"};

std::optional<std::string_view> without_compression_suffix(std::string_view path) {
  for (const std::string_view suffix : kCompressedSuffixes) {
    if (path.ends_with(suffix)) return path.substr(0, path.size() - suffix.size());
  }
  return std::nullopt;
}

// The index checks shared with Debian (check_index_text) look entries up by
// path: each <data> entry is listed at its location, and its open-checksum
// at the location without the compression suffix, which is where a Debian
// Release lists an index's uncompressed text.
Release as_release(const Repomd& repomd) {
  Release release;
  for (const RepomdData& data : repomd.data) {
    release.sha256.push_back({data.location, data.checksum.size, data.checksum.sha256});
    const auto base = without_compression_suffix(data.location);
    if (base && data.open) release.sha256.push_back({std::string(*base), data.open->size, data.open->sha256});
  }
  return release;
}

std::optional<std::chrono::sys_seconds> revision_time(std::string_view revision) {
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(revision.data(), revision.data() + revision.size(), seconds);
  if (revision.empty() || ec != std::errc() || end != revision.data() + revision.size() || seconds < 0) {
    return std::nullopt;
  }
  return std::chrono::sys_seconds{std::chrono::seconds{seconds}};
}

// Refuses an oversized repomd.xml before reading it into memory.
std::string read_repomd(int fd, const std::string& what) {
  struct stat st{};
  base::check_syscall(::fstat(fd, &st), "fstat", what);
  if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > kMaxRepomdBytes) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to read " + what + ": it is " + std::to_string(st.st_size) +
                                                   " bytes, more than the " + std::to_string(kMaxRepomdBytes) +
                                                   " accepted");
  }
  return read_fd_bytes(fd, what);
}

}  // namespace

VerifiedRepomd verify_repomd(std::string_view xml, const std::optional<std::string>& signature,
                             const ReleaseRequest& request) {
  const std::string origin = "repomd.xml of repository '" + request.repository + "'";
  if (!signature) return {parse_repomd(xml, origin), {}};
  base::require(!request.keys.empty() || !request.keyrings.empty(),
                "Failed to verify " + origin + ": repomd.xml.asc is given but the repository has no key");
  GpgHome home;
  const SignatureCheck check{request.repository, "repomd.xml.asc", import_request_keys(home, request)};
  VerifiedText verified = verify_detached(home, xml, *signature, check);
  return {parse_repomd(verified.text, origin), std::move(verified.signer_fingerprint)};
}

VerifiedIndex check_repomd_index(const Repomd& repomd, const IndexInput& index, const std::string& repository) {
  const std::string what = "index '" + index.relative_path + "' of repository '" + repository + "'";
  const RepomdData* entry = repomd.find_location(index.relative_path);
  base::require(entry != nullptr, "Failed to verify " + what + ": repomd.xml does not list it");
  base::require(entry->open || !without_compression_suffix(entry->location),
                "Failed to verify " + what + ": repomd.xml gives no open-checksum for its uncompressed text");
  const std::string cached_name = "the cached uncompressed copy of " + what;
  const IndexTextOptions options{
      .text_fd = index.uncompressed_out.get(), .cached_fd = index.cached.get(), .cached_name = cached_name};
  const IndexText text = check_index_text(as_release(repomd), index.relative_path, read_fd_bytes(index.fd.get(), what),
                                          repository, options);
  return {repository, index.relative_path, text.digest, text.source, text.listed, text.cache_refusal};
}

CheckedRepository check_rpm_repository(RepositoryInput& repo, ipc::StageContext& context, const FileChecked& done) {
  const std::string& name = repo.request.repository;
  const std::string where = " of repository '" + name + "'";
  std::optional<std::string> signature;
  if (repo.rpm->signature) signature = read_fd_bytes(repo.rpm->signature.get(), "repomd.xml.asc" + where);
  const VerifiedRepomd verified =
      verify_repomd(read_repomd(repo.rpm->repomd.get(), "repomd.xml" + where), signature, repo.request);
  CheckedRepository out;
  out.release.signer_fingerprint = verified.signer_fingerprint;
  out.release.date = revision_time(verified.repomd.revision);
  for (const RepomdData& data : verified.repomd.data) {
    out.listed_files.push_back({data.type, data.location, data.checksum, data.open});
  }
  done(name, 0);
  for (const auto& index : repo.indexes) {
    context.check_cancelled();
    out.indexes.push_back(check_repomd_index(verified.repomd, index, name));
    done(index.relative_path, out.indexes.back().digest.size);
  }
  return out;
}

}  // namespace stage::verifier::rpm
