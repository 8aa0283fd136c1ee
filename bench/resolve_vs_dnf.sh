#!/bin/bash
# Resolution of azl3's default raw package set against the hermetic azl3-like
# repository (bench/rpm_common.sh), the same work on both sides:
#  - ours: `os-image-composer lock` (repomd.xml and repomd.xml.asc fetched
#    and verified, primary and filelists fetched, checked against repomd and
#    decompressed, then libsolv in the resolver stage);
#  - dnf: `dnf --installroot <empty root> install --assumeno` of the same
#    names, the same repository with gpgcheck and repo_gpgcheck on and the
#    fixture's key, weak dependencies off (our resolver ignores them too).
# Cold: empty caches (ours: cache dir removed; dnf: a new installroot, which
# holds its cache). Warm: caches kept; both still fetch and check repomd.xml
# (dnf with metadata_expire=0) and take the indexes from their cache.
# Both package sets must be the same name for name and version, or it fails.
#
#   BUILD_DIR=/path/to/build bench/resolve_vs_dnf.sh [RUNS]     (default 10)
source "$(dirname "${BASH_SOURCE[0]}")/rpm_common.sh"
RUNS=${1:-10}
command -v dnf >/dev/null || die "dnf is needed (apt-get install dnf)"

make_fixture
serve_fixture
cold_cfg=$(rpm_oic_config "$RPM_DIR/cold-cache")
warm_cfg=$(oic_config "$RPM_DIR/warm-cache" "$RPM_DIR/config")
names=$(default_names)

# dnf's own config: nothing read from this machine's /etc/dnf or the root's.
# Debian's rpm keeps its database in ~/.rpmdb; azl3's is /var/lib/rpm.
dnf_dir="$RPM_DIR/dnf"
mkdir -p "$dnf_dir/repos.d" "$dnf_dir/home"
printf '[main]\ngpgcheck=1\nrepo_gpgcheck=1\ninstall_weak_deps=False\nmetadata_expire=0\n' > "$dnf_dir/dnf.conf"
printf '[azurelinux-3.0-base]\nname=azurelinux-3.0-base\nbaseurl=%s\ngpgkey=file://%s\n' \
  "$REPO_URL" "$FIXTURE/RPM-GPG-KEY" > "$dnf_dir/repos.d/fixture.repo"
printf '%%_dbpath /var/lib/rpm\n' > "$dnf_dir/home/.rpmmacros"
# dnf installs only as root: a user namespace maps the caller to it. -y
# imports the repository key (repo_gpgcheck), --assumeno still refuses the
# transaction ("Operation aborted.", exit 1): grep is the command's status.
dnf_cmd() {
  printf 'env HOME=%q unshare --user --map-root-user dnf --config %q --setopt=reposdir=%q --installroot %q --releasever 3.0 -y --assumeno install %s' \
    "$dnf_dir/home" "$dnf_dir/dnf.conf" "$dnf_dir/repos.d" "$1" "$names"
}
dnf_ok=" 2>&1 | grep -q '^Operation aborted'"

# Warm caches start empty too (the port, part of both caches' keys, is new).
rm -rf "$RPM_DIR/warm-cache" "$dnf_dir/root-warm"
oic_lock() { printf '%q ' "$OIC" --config "$1" lock "$RPM_DIR/azl3.yml" -o "$RPM_DIR/lock.json"; }
json="$RPM_DIR/resolve.json"
hyperfine --warmup 1 --runs "$RUNS" --export-json "$json" \
  --prepare "rm -rf $(printf '%q' "$RPM_DIR/cold-cache")" --prepare true \
  --prepare "rm -rf $(printf '%q' "$dnf_dir/root-cold") && mkdir $(printf '%q' "$dnf_dir/root-cold")" \
  --prepare "mkdir -p $(printf '%q' "$dnf_dir/root-warm")" \
  -n "os-image-composer lock (cold)" "$(oic_lock "$cold_cfg") > $(printf '%q' "$RPM_DIR/lock-cold.log") 2>&1" \
  -n "os-image-composer lock (warm)" "$(oic_lock "$warm_cfg") > $(printf '%q' "$RPM_DIR/lock-warm.log") 2>&1" \
  -n "dnf install --assumeno (cold)" "$(dnf_cmd "$dnf_dir/root-cold")$dnf_ok" \
  -n "dnf install --assumeno (warm)" "$(dnf_cmd "$dnf_dir/root-warm")$dnf_ok"

echo
echo "== stage timings of one cold lock"
rm -rf "$RPM_DIR/cold-cache"
eval "$(oic_lock "$cold_cfg")" 2>&1 | stage_table

# The transaction dnf prints: a package row is a name, then its arch, then
# its version (long names wrap onto their own line, so read tokens).
eval "$(dnf_cmd "$dnf_dir/root-warm")" > "$RPM_DIR/dnf-transaction.txt" 2>&1 || true
python3 - "$RPM_DIR/dnf-transaction.txt" > "$RPM_DIR/dnf-set.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
if "Dependencies resolved." not in text or "Transaction Summary" not in text:
    sys.exit("error: dnf resolved nothing:\n" + text[-2000:])
table = text.split("Dependencies resolved.", 1)[1].split("Transaction Summary", 1)[0]
tokens = table.split()
arches = {"x86_64", "noarch", "i686", "aarch64"}
rows = sorted((tokens[i - 1], tokens[i + 1]) for i in range(1, len(tokens) - 1) if tokens[i] in arches)
summary = re.search(r"^Install +([0-9]+) Packages?$", text, re.M)
if not summary or int(summary.group(1)) != len(rows):
    sys.exit(f"error: read {len(rows)} packages from dnf's transaction, its summary says otherwise")
for name, version in rows:
    print(name, version)
PY
locked_name_version_lines "$RPM_DIR/lock.json" > "$RPM_DIR/lock-set.txt"
ours_n=$(wc -l < "$RPM_DIR/lock-set.txt")
dnf_n=$(wc -l < "$RPM_DIR/dnf-set.txt")
echo
echo "packages: lock $ours_n, dnf $dnf_n (requested $(wc -w <<<"$names")); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if ! diff -u --label lock "$RPM_DIR/lock-set.txt" --label dnf "$RPM_DIR/dnf-set.txt"; then
  die "the lock and dnf chose different packages (above; dnf's output: $RPM_DIR/dnf-transaction.txt)"
fi

echo "wall time (mean), then CPU time (user + system, mean):"
for i in 0 1; do
  which=$([[ $i == 0 ]] && echo cold || echo warm)
  ours=$(mean_of "$json" "$i") peer=$(mean_of "$json" $((i + 2)))
  ours_cpu=$(cpu_of "$json" "$i") peer_cpu=$(cpu_of "$json" $((i + 2)))
  printf '%s: lock %.3f s, dnf %.3f s, ratio lock/dnf %s; CPU lock %.3f s, dnf %.3f s, ratio %s\n' "$which" \
    "$ours" "$peer" "$(ratio "$ours" "$peer")" "$ours_cpu" "$peer_cpu" "$(ratio "$ours_cpu" "$peer_cpu")"
done
