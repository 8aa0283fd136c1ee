#!/bin/bash
# Installing azl3's default raw package set from the hermetic azl3-like
# repository (bench/rpm_common.sh) into an empty root, packages already in
# the cache, the same rpm work on both sides:
#  - ours: the installer stage alone, `os-image-composer stage installer
#    --request` with the request a build saved (--keep-requests): sandbox
#    start, the rpmdb made, the repository key imported, one rpm transaction,
#    the provider's deferred packages (initramfs) in a second one without
#    scriptlets, the installed-package list;
#  - rpm by hand: the same calls (`rpm --root R --dbpath /var/lib/rpm
#    --noplugins --nosignature -i`, rpmkeys --import) in `unshare --user
#    --map-auto --map-root-user --mount` with /dev and /proc bound into R,
#    as the stage has them for scriptlets.
# When `build` of the image works, the whole build is timed too, BUILD_RUNS
# times (default 1; `build --lockfile --rebuild`, saved build environment
# removed: install, configuration, initramfs, boot files, SBOM, disk); when
# it does not, the script says where it stops and times the two above.
# Both trees must hold the lock's packages, or it fails.
#
#   BUILD_DIR=/path/to/build [BUILD_RUNS=N] bench/install_vs_rpm.sh [RUNS]     (default 3)
source "$(dirname "${BASH_SOURCE[0]}")/rpm_common.sh"
RUNS=${1:-3}

make_fixture
serve_fixture
cache="$RPM_DIR/install-cache"
cfg=$(rpm_oic_config "$cache")
lock="$RPM_DIR/install-lock.json"
"$OIC" --config "$cfg" lock "$RPM_DIR/azl3.yml" -o "$lock" > "$RPM_DIR/install-lock.log" 2>&1 ||
  { tail -n 20 "$RPM_DIR/install-lock.log" >&2; die "lock failed"; }

# Trees and the saved build environment hold files of subordinate ids:
# removed from inside a user namespace with the same mapping.
userns_rm() { printf 'unshare --user --map-auto --map-root-user rm -rf %q' "$1"; }
requests="$RPM_DIR/requests"
eval "$(userns_rm "$requests")"
eval "$(userns_rm "$cache/buildenv")"

echo "== one build (downloads and checks the packages, saves the installer's request)"
build_log="$RPM_DIR/install-build.log"
build_ok=yes
"$OIC" --config "$cfg" build "$RPM_DIR/azl3.yml" --lockfile "$lock" --keep-requests "$requests" > "$build_log" 2>&1 ||
  build_ok=
stage_table < "$build_log"
[[ -f "$requests/install.json" ]] ||
  { tail -n 20 "$build_log" >&2; die "the build stopped before the installer stage (log: $build_log)"; }
grep -Eq '^install +installer +[0-9.]+ +ok$' "$build_log" ||
  { tail -n 20 "$build_log" >&2; die "the installer stage failed in the build (log: $build_log)"; }
if [[ -z $build_ok ]]; then
  echo "error: build of the azl3 image on this repository does not work yet, so the whole build is not timed:" >&2
  grep -m1 '^error: ' "$build_log" >&2 || tail -n 3 "$build_log" >&2
fi
ours_root=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["installer"]["rootDir"]["path"])' \
  "$requests/install.json")

# The same packages for rpm by hand: the deferred ones (provider data) apart.
hand="$RPM_DIR/rpm-by-hand"
mkdir -p "$hand"
python3 - "$lock" "$FIXTURE/repo" "$SOURCE_DIR/config/osv/azure-linux/azl3/config.yml" "$hand" <<'PY'
import json, os, sys, yaml
lock, repo, provider, out = sys.argv[1:]
deferred = set(yaml.safe_load(open(provider))["x86_64"].get("deferredPackages", []))
packages = json.load(open(lock))["packages"]
for name, chosen in (("first", lambda p: p["name"] not in deferred), ("deferred", lambda p: p["name"] in deferred)):
    with open(os.path.join(out, name + ".list"), "w") as f:
        f.writelines(os.path.join(repo, p["filename"]) + "\n" for p in packages if chosen(p))
PY
cat > "$hand/install.sh" <<'SH'
#!/bin/bash
# install.sh ROOT KEY FIRST_LIST DEFERRED_LIST: the installer stage's rpm calls by hand.
set -euo pipefail
exec unshare --user --map-auto --map-root-user --mount bash -euo pipefail -c '
  root=$1 key=$2
  mkdir -p "$root/dev" "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --rbind /proc "$root/proc"
  rpm=(rpm --root "$root" --dbpath /var/lib/rpm --noplugins)
  "${rpm[@]}" --initdb
  rpmkeys --root "$root" --dbpath /var/lib/rpm --noplugins --import "$key"
  mapfile -t first < "$3"
  mapfile -t deferred < "$4"
  "${rpm[@]}" --define "_netsharedpath /proc:/dev" --nosignature -i "${first[@]}"
  [[ ${#deferred[@]} -eq 0 ]] ||
    "${rpm[@]}" --define "_netsharedpath /proc:/dev" --nosignature -i --noscripts --notriggers "${deferred[@]}"
  rm -f "$root/var/lib/rpm/rpmdb.sqlite-shm"
  [[ -s "$root/var/lib/rpm/rpmdb.sqlite-wal" ]] || rm -f "$root/var/lib/rpm/rpmdb.sqlite-wal"
' _ "$@"
SH

q() { printf '%q' "$1"; }
ours_cmd="$(printf '%q ' "$OIC" --config "$cfg" stage installer --request "$requests/install.json") > $(q "$RPM_DIR/stage-installer.log") 2>&1"
rpm_cmd="bash $(printf '%q ' "$hand/install.sh" "$hand/root" "$FIXTURE/RPM-GPG-KEY" "$hand/first.list" "$hand/deferred.list") > $(q "$hand/install.log") 2>&1"
json="$RPM_DIR/install.json"
hyperfine --runs "$RUNS" --export-json "$json" \
  --prepare "$(userns_rm "$ours_root") && mkdir $(q "$ours_root")" --prepare "$(userns_rm "$hand/root")" \
  -n "os-image-composer stage installer" "$ours_cmd" -n "rpm -i by hand" "$rpm_cmd"

# The whole build is minutes of both cores (dracut, the disk and its
# compression): BUILD_RUNS runs of its own (default 1; 0 skips it).
build_json="$RPM_DIR/install-build.json"
BUILD_RUNS=${BUILD_RUNS:-1}
[[ $BUILD_RUNS -gt 0 ]] || { build_ok=; echo "== whole build not timed (BUILD_RUNS=0)"; }
if [[ -n $build_ok ]]; then
  hyperfine --runs "$BUILD_RUNS" --export-json "$build_json" --prepare "$(userns_rm "$cache/buildenv")" \
    -n "os-image-composer build --lockfile --rebuild (whole image)" \
    "$(printf '%q ' "$OIC" --config "$cfg" build "$RPM_DIR/azl3.yml" --lockfile "$lock" --rebuild) > $(q "$build_log") 2>&1"
  echo "== stage timings of the last whole build"
  stage_table < "$build_log"
fi

# What each tree's rpmdb holds, against the lock.
installed() {
  unshare --user --map-auto --map-root-user rpm --root "$1" --dbpath /var/lib/rpm -qa --qf '%{NAME}\n' |
    grep -vx gpg-pubkey | sort
}
python3 -c 'import json, sys; print("\n".join(sorted(p["name"] for p in json.load(open(sys.argv[1]))["packages"])))' \
  "$lock" > "$RPM_DIR/install-expected.txt"
installed "$ours_root" > "$RPM_DIR/install-ours.txt"
installed "$hand/root" > "$RPM_DIR/install-rpm.txt"
diff -u --label lock "$RPM_DIR/install-expected.txt" --label "stage installer" "$RPM_DIR/install-ours.txt" ||
  die "the installer stage's rpmdb does not hold the lock's packages"
diff -u --label lock "$RPM_DIR/install-expected.txt" --label "rpm by hand" "$RPM_DIR/install-rpm.txt" ||
  die "rpm by hand did not install the lock's packages"

ours=$(mean_of "$json" 0)
rpm=$(mean_of "$json" 1)
echo
echo "packages: $(wc -l < "$RPM_DIR/install-expected.txt") in each rpmdb; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'wall: stage installer %.2f s, rpm by hand %.2f s, ratio ours/rpm %s\n' "$ours" "$rpm" "$(ratio "$ours" "$rpm")"
ours_cpu=$(cpu_of "$json" 0) rpm_cpu=$(cpu_of "$json" 1)
printf 'CPU (user + system): stage installer %.2f s, rpm by hand %.2f s, ratio ours/rpm %s\n' \
  "$ours_cpu" "$rpm_cpu" "$(ratio "$ours_cpu" "$rpm_cpu")"
if [[ -n $build_ok ]]; then
  printf 'whole build (install, configuration, initramfs, boot files, SBOM, disk) %.1f s\n' "$(mean_of "$build_json" 0)"
else
  echo "whole build: not timed (see above)"
fi
