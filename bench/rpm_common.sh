# Shared by the bench/*_vs_dnf.sh and *_vs_rpm.sh scripts (sourced, not run).
# No azl3 mirror is reachable, so both sides work on the hermetic azl3-like
# repository of tests/fixtures/rpmrepo/make-rpmrepo.sh (full set: Debian's
# own packages under azl3's names, signed, with repomd.xml.asc), served on
# 127.0.0.1 for the length of the script. The tool sees it through a copied
# config dir whose azl3 repository is the fixture's, as a user with their own
# mirror would set it; the request is azl3's default raw template unchanged.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RPM_DIR="$BENCH_DIR/rpm"
FIXTURE="$RPM_DIR/fixture"
AZL3_DEFAULTS="$SOURCE_DIR/config/osv/azure-linux/azl3/imageconfigs/defaultconfigs/default-raw-x86_64.yml"
command -v unshare >/dev/null || die "unshare (util-linux) is needed"
command -v rpm >/dev/null || die "rpm is needed (apt-get install rpm)"
mkdir -p "$RPM_DIR"

# The fixture from the tests' cache (~/.cache/os-image-composer-tests/rpmrepo
# of the calling user); a cold one takes minutes and needs mmdebstrap.
make_fixture() {
  echo "== the azl3-like repository (tests/fixtures/rpmrepo/make-rpmrepo.sh, cached by the tests)"
  bash "$SOURCE_DIR/tests/fixtures/rpmrepo/make-rpmrepo.sh" "$FIXTURE" > "$RPM_DIR/fixture.log" 2>&1 ||
    { tail -n 20 "$RPM_DIR/fixture.log" >&2; die "make-rpmrepo.sh failed (log: $RPM_DIR/fixture.log)"; }
  [[ -f "$FIXTURE/repo/repodata/repomd.xml.asc" && -s "$FIXTURE/fingerprint" ]] ||
    die "$FIXTURE is not a signed repository with its fingerprint"
}

# Serves $FIXTURE/repo on 127.0.0.1 (a port the kernel picks) until the
# script exits; sets REPO_URL.
serve_fixture() {
  local log="$RPM_DIR/httpd.log" port=""
  python3 -u -m http.server --bind 127.0.0.1 --directory "$FIXTURE/repo" 0 > "$log" 2>&1 &
  HTTPD_PID=$!
  trap 'kill "$HTTPD_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 50); do
    port=$(sed -n 's/^Serving HTTP on .* port \([0-9]*\) .*/\1/p' "$log")
    [[ -n $port ]] && break
    kill -0 "$HTTPD_PID" 2>/dev/null || die "the repository server exited: $(cat "$log")"
    sleep 0.1
  done
  [[ -n $port ]] || die "the repository server did not start (log: $log)"
  REPO_URL="http://127.0.0.1:$port"
}

# A config dir holding azl3 as shipped, its repository and keys replaced by
# the fixture's (key shipped as a file, fingerprint pinned); prints the path
# of a global config that uses it with the cache dir $1.
rpm_oic_config() {
  local config="$RPM_DIR/config" os_dir="$RPM_DIR/config/osv/azure-linux/azl3"
  rm -rf "$config"
  mkdir -p "$(dirname "$os_dir")"
  cp -r "$SOURCE_DIR/config/osv/azure-linux/azl3" "$os_dir"
  cp "$FIXTURE/RPM-GPG-KEY" "$os_dir/keys/RPM-GPG-KEY"
  cat > "$os_dir/providerconfigs/x86_64_repo.yml" <<YML
repositories:
  - name: azurelinux-3.0-base
    type: rpm
    baseURL: $REPO_URL
    keyFiles: [keys/RPM-GPG-KEY]
    keyFingerprints: [$(cat "$FIXTURE/fingerprint")]
    repoGPGCheck: true
YML
  oic_config "$1" "$config"
}

# The user template: azl3's default raw image as it is.
cat > "$RPM_DIR/azl3.yml" <<'YML'
image:
  name: bench-azl3
  version: "1.0.0"
target:
  os: azure-linux
  dist: azl3
  arch: x86_64
  imageType: raw
systemConfig:
  name: bench-azl3
YML

# The names the lock asks for: the default template's packages and kernel packages.
default_names() {
  python3 -c '
import sys, yaml
system = yaml.safe_load(open(sys.argv[1]))["systemConfig"]
names = set(system.get("packages", [])) | set(system.get("kernel", {}).get("packages", []))
print(" ".join(sorted(names)))' "$AZL3_DEFAULTS"
}

# Locked packages as sorted "name version" lines.
locked_name_version_lines() {
  python3 -c '
import json, sys
for p in sorted(json.load(open(sys.argv[1]))["packages"], key=lambda p: p["name"]):
    print(p["name"], p["version"])' "$1"
}

