// An RPM repository's chain of trust: repomd.xml, optionally signed by
// repomd.xml.asc (a detached signature, checked like Debian's Release.gpg),
// then each index file (primary, filelists) against its <data> entry,
// compressed and uncompressed. Every refusal names the repository and file.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "stages/verifier/deb/release.hpp"
#include "stages/verifier/family.hpp"
#include "stages/verifier/rpm/repomd.hpp"

namespace stage::verifier::rpm {

struct VerifiedRepomd {
  Repomd repomd;
  std::string signer_fingerprint;  // empty: unsigned (no signature asked for)
};

// With `signature`, repomd.xml must be signed by one of request.keys (their
// pins apply) and is parsed from the signed bytes; without, it is parsed
// as it is. request.repository names the repository.
VerifiedRepomd verify_repomd(std::string_view xml, const std::optional<std::string>& signature,
                             const ReleaseRequest& request);

// Checks `index` against the entry repomd lists at its relative path (size
// and SHA-256), then its decompressed text (or the cached copy) against the
// entry's open-checksum and open-size, as Debian's indexes are checked.
VerifiedIndex check_repomd_index(const Repomd& repomd, const IndexInput& index, const std::string& repository);

// Everything the result reports of the repository: signer, <revision> as
// the date when numeric, and every <data> entry.
CheckedRepository check_rpm_repository(RepositoryInput& repo, ipc::StageContext& context,
                                       const FileChecked& done);

}  // namespace stage::verifier::rpm
