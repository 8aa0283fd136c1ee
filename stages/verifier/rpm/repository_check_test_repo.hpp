// Test helper: a tiny RPM repository made the way real ones are (rpmbuild,
// createrepo_c, gpg --detach-sign --armor repodata/repomd.xml), with the
// metadata compressed as asked. Header-only, for GoogleTest.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include "tests/fixtures/debrepo/debrepo.hpp"

namespace stage::verifier::rpm::testing {

// OUT/repo/{tiny-1.0-1.noarch.rpm,repodata/...}, repomd.xml.asc by the
// repository key, repomd.xml.other-asc by the other key, OUT/{key,other-key}
// (armored) and OUT/fingerprint. `compress` is createrepo_c's
// --general-compress-type (gz or xz); "zst" recompresses the xz primary with
// the zstd CLI and rewrites its entry in repomd.xml before signing.
inline constexpr const char* kMakeRepoScript = R"SH(
set -euo pipefail
out=$1 compress=$2
export GNUPGHOME=$out/gnupg
mkdir -p "$GNUPGHOME" "$out/build/SPECS" "$out/repo" && chmod 700 "$GNUPGHOME"
g() { gpg --batch --quiet --yes --no-tty --pinentry-mode loopback --passphrase '' "$@" 2>/dev/null; }
g --quick-gen-key 'OIC RPM Test <rpm@example.invalid>' ed25519 sign never
g --quick-gen-key 'OIC Other <other@example.invalid>' ed25519 sign never
g --armor --export rpm@example.invalid >"$out/key"
g --armor --export other@example.invalid >"$out/other-key"
gpg --batch --with-colons --list-keys rpm@example.invalid 2>/dev/null | awk -F: '$1=="fpr"{print $10; exit}' >"$out/fingerprint"
cat >"$out/build/SPECS/tiny.spec" <<'SPEC'
Name: tiny
Version: 1.0
Release: 1
Summary: tiny
License: MIT
BuildArch: noarch
%description
tiny
%files
SPEC
rpmbuild --quiet -bb --define "_topdir $out/build" "$out/build/SPECS/tiny.spec" >/dev/null 2>&1
cp "$out"/build/RPMS/noarch/*.rpm "$out/repo/"
type=$compress; [[ $compress == zst ]] && type=xz
createrepo_c --quiet --no-database --general-compress-type="$type" "$out/repo" >/dev/null
rd=$out/repo/repodata
if [[ $compress == zst ]]; then
  /usr/bin/python3 - "$rd" <<'PY'
import hashlib, lzma, os, re, subprocess, sys
rd = sys.argv[1]
repomd = open(os.path.join(rd, "repomd.xml")).read()
block = re.search(r'<data type="primary">.*?</data>', repomd, re.S).group(0)
href = re.search(r'href="repodata/([^"]+)"', block).group(1)
xml = lzma.decompress(open(os.path.join(rd, href), "rb").read())
zst = subprocess.run(["zstd", "-q", "-c"], input=xml, check=True, stdout=subprocess.PIPE).stdout
name = hashlib.sha256(zst).hexdigest() + "-primary.xml.zst"
open(os.path.join(rd, name), "wb").write(zst)
os.remove(os.path.join(rd, href))
new = block.replace(href, name)
new = re.sub(r'<checksum type="sha256">[0-9a-f]+</checksum>', f'<checksum type="sha256">{hashlib.sha256(zst).hexdigest()}</checksum>', new)
new = re.sub(r'<size>\d+</size>', f'<size>{len(zst)}</size>', new)
open(os.path.join(rd, "repomd.xml"), "w").write(repomd.replace(block, new))
PY
fi
g --local-user rpm@example.invalid --detach-sign --armor -o "$rd/repomd.xml.asc" "$rd/repomd.xml"
g --local-user other@example.invalid --detach-sign --armor -o "$rd/repomd.xml.other-asc" "$rd/repomd.xml"
gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1 || true
)SH";

struct TinyRepo {
  std::filesystem::path root;
  std::filesystem::path repo() const { return root / "repo"; }
  std::filesystem::path repodata() const { return repo() / "repodata"; }
  std::filesystem::path repomd() const { return repodata() / "repomd.xml"; }
  std::filesystem::path asc() const { return repodata() / "repomd.xml.asc"; }
  std::filesystem::path other_asc() const { return repodata() / "repomd.xml.other-asc"; }
  std::filesystem::path key() const { return root / "key"; }
  std::filesystem::path other_key() const { return root / "other-key"; }
  std::string fingerprint() const { return tests::debrepo::read_text(root / "fingerprint"); }
  // The relative path ("repodata/<hash>-<kind>.xml.<ext>") of the file of `kind`.
  std::string relative(std::string_view kind) const {
    for (const auto& entry : std::filesystem::directory_iterator(repodata())) {
      const std::string name = entry.path().filename().string();
      if (name.find("-" + std::string(kind) + ".xml") != std::string::npos) return "repodata/" + name;
    }
    throw std::runtime_error("no " + std::string(kind) + " in " + repodata().string());
  }
};

inline TinyRepo make_tiny_repo(const std::filesystem::path& out, const std::string& compress) {
  std::filesystem::create_directories(out);
  if (tests::debrepo::run_argv({"/bin/bash", "-c", kMakeRepoScript, "bash", out.string(), compress}) != 0) {
    throw std::runtime_error("building the test RPM repository failed in " + out.string());
  }
  return TinyRepo{out};
}

}  // namespace stage::verifier::rpm::testing
