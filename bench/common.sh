# Shared by the bench/*_vs_apt.sh scripts (sourced, not run). Sets up, under
# $BENCH_DIR (default ~/.cache/os-image-composer-bench), the same Debian 12
# request for os-image-composer and for apt in a scratch root. The mirror is
# whatever this machine's apt sources name for bookworm, read at run time.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APT_ROOT="$BENCH_DIR/apt-root"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# The image of the live tests: the provider's defaults plus four packages.
cat > "$BENCH_DIR/bench.yml" <<'YML'
image:
  name: bench-debian12
  version: "1.0.0"
target:
  os: debian
  dist: debian12
  arch: x86_64
  imageType: raw
systemConfig:
  name: bench-debian12
  packages:
    - systemd-sysv
    - linux-image-amd64
    - openssh-server
    - sudo
YML

# apt's own view of this machine's sources, limited to what the Debian 12
# provider uses: bookworm, bookworm-updates, bookworm-security; main; amd64.
write_apt_root() {
  mkdir -p "$APT_ROOT"/etc/apt/{apt.conf.d,preferences.d,sources.list.d,trusted.gpg.d} \
    "$APT_ROOT"/var/lib/apt/lists/partial "$APT_ROOT"/var/cache/apt/archives/partial \
    "$APT_ROOT"/var/lib/dpkg
  : > "$APT_ROOT/var/lib/dpkg/status"
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' |
    awk -v key="$KEYRING" '$3 == "main" && $2 ~ /^bookworm(-updates|-security)?$/ {
          sub(/\/$/, "", $1); print "deb [arch=amd64 signed-by=" key "] " $1 " " $2 " main" }' |
    sort -u > "$APT_ROOT/etc/apt/sources.list"
  grep -q ' bookworm main$' "$APT_ROOT/etc/apt/sources.list" ||
    die "no bookworm main source in this machine's apt sources"
}

APT_OPTS=(
  -o "Dir=$APT_ROOT" -o "Dir::Etc=$APT_ROOT/etc/apt"
  -o "Dir::Etc::trusted=$APT_ROOT/etc/apt/trusted.gpg"
  -o "Dir::Etc::TrustedParts=$APT_ROOT/etc/apt/trusted.gpg.d"
  -o "Dir::State=$APT_ROOT/var/lib/apt" -o "Dir::State::status=$APT_ROOT/var/lib/dpkg/status"
  -o "Dir::Cache=$APT_ROOT/var/cache/apt"
  # apt keeps its parsed lists in pkgcache.bin between runs; container images
  # often switch that off in /etc/apt/apt.conf.d, which apt still reads.
  -o Dir::Cache::pkgcache=pkgcache.bin -o Dir::Cache::srcpkgcache=srcpkgcache.bin
  -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o Acquire::Languages=none
  -o Debug::NoLocking=1 -o APT::Sandbox::User=root
)
# The options as one shell-quoted string, for hyperfine's command lines.
APT_OPTS_Q=$(printf '%q ' "${APT_OPTS[@]}")

# The names the lock asks for: the provider's essential list and the merged
# template's system and kernel packages (Essential/required come from the
# index: apt gets them as ?essential ?priority(required), as mmdebstrap does).
requested_names() {
  local cfg=$1
  "$OIC" --config "$cfg" validate --merged "$BENCH_DIR/bench.yml" 2>/dev/null |
    python3 -c '
import sys, yaml
merged = yaml.safe_load(sys.stdin)["systemConfig"]
essential = yaml.safe_load(open(sys.argv[1]))["essential"]
names = set(essential) | set(merged.get("packages", [])) | set(merged.get("kernel", {}).get("packages", []))
print(" ".join(sorted(names)))' \
      "$SOURCE_DIR/config/osv/debian/debian12/chrootenvconfigs/chrootenv_x86_64.yml"
}
