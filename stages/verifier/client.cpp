#include "stages/verifier/client.hpp"

namespace stage::verifier::client {
namespace {

using ipc::proto::VerifierRequest;

void encode_index(const IndexFile& index, VerifierRequest::IndexFile::Builder out) {
  out.setRelativePath(index.relative_path);
  index.file.encode(out.initFile());
  if (index.uncompressed_out) index.uncompressed_out->encode(out.initUncompressedOut());
  if (index.cached_uncompressed) index.cached_uncompressed->encode(out.initCachedUncompressed());
}

void encode_rpm(const RpmRepomd& rpm, VerifierRequest::Repository::Rpm::Builder out) {
  rpm.repomd.encode(out.initRepomd());
  if (rpm.signature) rpm.signature->encode(out.initRepomdSignature());
}

void encode_deb(const Repository& repo, VerifierRequest::Repository::Deb::Builder deb) {
  deb.setSuite(repo.suite);
  ipc::copy_texts(repo.architectures, deb.initArchitectures(static_cast<unsigned>(repo.architectures.size())));
  ipc::copy_texts(repo.components, deb.initComponents(static_cast<unsigned>(repo.components.size())));
  if (repo.detached) {
    auto detached = deb.getReleaseFiles().initDetached();
    repo.detached->release.encode(detached.initRelease());
    repo.detached->signature.encode(detached.initSignature());
  } else {
    repo.in_release.encode(deb.getReleaseFiles().initInRelease());
  }
}

void encode_repository(const Repository& repo, VerifierRequest::Repository::Builder out) {
  out.setName(repo.name);
  if (repo.rpm) {
    encode_rpm(*repo.rpm, out.initRpm());
  } else {
    encode_deb(repo, out.initDeb());
  }
  auto keys = out.initKeys(static_cast<unsigned>(repo.keys.size()));
  for (unsigned k = 0; k < keys.size(); ++k) {
    repo.keys[k].file.encode(keys[k].initFile());
    keys[k].setFingerprint(repo.keys[k].fingerprint);
  }
  auto indexes = out.initIndexFiles(static_cast<unsigned>(repo.index_files.size()));
  for (unsigned i = 0; i < indexes.size(); ++i) encode_index(repo.index_files[i], indexes[i]);
}

void encode_package_keys(const std::vector<RepositoryKeys>& all, VerifierRequest::PackageFamily::Builder out) {
  auto list = out.initRpm(static_cast<unsigned>(all.size()));
  for (unsigned r = 0; r < list.size(); ++r) {
    list[r].setRepo(all[r].repo);
    auto keys = list[r].initKeys(static_cast<unsigned>(all[r].keys.size()));
    for (unsigned k = 0; k < keys.size(); ++k) {
      all[r].keys[k].file.encode(keys[k].initFile());
      keys[k].setFingerprint(all[r].keys[k].fingerprint);
    }
  }
}

Uncompressed decode_uncompressed(ipc::proto::VerifierResult::Index::Uncompressed value) {
  using Wire = ipc::proto::VerifierResult::Index::Uncompressed;
  switch (value) {
    case Wire::NONE: return Uncompressed::kNone;
    case Wire::WRITTEN: return Uncompressed::kWritten;
    case Wire::CACHED: return Uncompressed::kCached;
  }
  return Uncompressed::kNone;  // a value from a newer schema: nothing was written
}

}  // namespace

void encode(const Request& request, VerifierRequest::Builder out) {
  auto repos = out.initRepositories(static_cast<unsigned>(request.repositories.size()));
  for (unsigned r = 0; r < repos.size(); ++r) encode_repository(request.repositories[r], repos[r]);
  auto packages = out.initPackages(static_cast<unsigned>(request.packages.size()));
  for (unsigned i = 0; i < packages.size(); ++i) {
    const PackageFile& p = request.packages[i];
    packages[i].setName(p.name);
    packages[i].setRepo(p.repo);
    p.file.encode(packages[i].initFile());
    packages[i].setExpectedSha256(p.expected_sha256);
    packages[i].setExpectedSize(p.expected_size);
  }
  if (request.rpm_package_keys) {
    encode_package_keys(*request.rpm_package_keys, out.initPackageFamily());
  } else {
    out.initPackageFamily().setDeb();
  }
  out.setCheckArchiveContents(request.check_archive_contents);
  out.setCheckTime(request.check_time);
}

const ListedFile* VerifiedRepo::find_listed(std::string_view relative_path) const {
  for (const ListedFile& file : listed_files) {
    if (file.relative_path == relative_path) return &file;
  }
  return nullptr;
}

Result decode(ipc::proto::VerifierResult::Reader result) {
  Result out;
  for (auto r : result.getVerifiedRepos()) {
    VerifiedRepo& repo = out.verified_repos.emplace_back(
        VerifiedRepo{r.getName(), r.getSignerFingerprint(), r.getDate(), r.getValidUntil(), r.getSuite(),
                     r.getCodename(), {}, r.getAcquireByHash()});
    for (auto f : r.getListedFiles()) {
      repo.listed_files.push_back({f.getKind(), f.getRelativePath(), f.getSha256(), f.getSize(),
                                   f.getUncompressedSha256(), f.getUncompressedSize()});
    }
  }
  for (auto i : result.getVerifiedIndexes()) {
    out.verified_indexes.push_back({i.getRepo(), i.getRelativePath(), i.getSha256(), i.getSize(),
                                    decode_uncompressed(i.getUncompressed()), i.getUncompressedSha256(),
                                    i.getUncompressedSize(), i.getCacheRefusal()});
  }
  for (auto p : result.getVerifiedPackages()) {
    out.verified_packages.push_back({p.getName(), p.getRepo(), p.getSha256(), p.getSize()});
  }
  for (auto f : result.getFailures()) out.failures.push_back({f.getItem(), f.getReason()});
  return out;
}

}  // namespace stage::verifier::client
