#!/bin/bash
# Resolution of one Debian 12 image request against the full bookworm main
# index (plus -updates and -security): `os-image-composer lock` (fetch and
# verify of the metadata included; a warm lock takes the decompressed indexes
# from the cache's metadata/), the resolver stage alone on the
# same request (`stage resolver --request`), and `apt-get -s install` in a
# scratch root. Goal: under 1 s and at most half of apt's wall time.
#
#   BUILD_DIR=/path/to/build bench/resolve_vs_apt.sh [RUNS]     (default 10)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RUNS=${1:-10}

cfg=$(oic_config "$BENCH_DIR/oic-cache")
write_apt_root
echo "== apt-get update in $APT_ROOT"
apt-get "${APT_OPTS[@]}" -qq update
apt-cache "${APT_OPTS[@]}" -q gencaches >/dev/null

# One build with --keep-requests saves the resolver's request (it stops at
# the missing installer, after the lock is made and the packages are cached).
requests="$BENCH_DIR/requests"
rm -rf "$requests"
echo "== first lock (fills the metadata cache) and the resolver request"
"$OIC" --config "$cfg" build "$BENCH_DIR/bench.yml" --keep-requests "$requests" >/dev/null 2>&1 || true
[[ -f "$requests/resolve.json" ]] || die "no resolver request saved in $requests"

# The saved request names the indexes the build verified; point it at the
# same indexes from apt's lists (same mirror, checked by apt against the same
# InRelease), uncompressed as a lock hands them over from the metadata cache,
# so the stage does the work it does in a lock.
indexes="$BENCH_DIR/indexes"
mkdir -p "$indexes"
apt-get "${APT_OPTS[@]}" indextargets --format '$(RELEASE) $(FILENAME)' 'Identifier: Packages' |
  while read -r suite file; do
    /usr/lib/apt/apt-helper cat-file "$file" > "$indexes/${suite}_Packages"
  done
python3 - "$requests/resolve.json" "$indexes" <<'PY'
import json, os, sys
path, indexes = sys.argv[1], sys.argv[2]
request = json.load(open(path))
for index in request["resolver"]["indexes"]:
    local = os.path.join(indexes, index["repoName"] + "_Packages")
    if not os.path.exists(local):
        sys.exit(f"error: no index for repository {index['repoName']} in {indexes}")
    index["packages"]["path"] = local
json.dump(request, open(path, "w"), indent=1)
PY

names=$(requested_names "$cfg")
lock_cmd="$(printf '%q ' "$OIC" --config "$cfg") lock $(printf '%q' "$BENCH_DIR/bench.yml") -o $(printf '%q' "$BENCH_DIR/lock.json")"
stage_cmd="$(printf '%q ' "$OIC" --config "$cfg") stage resolver --request $(printf '%q' "$requests/resolve.json")"
apt_cmd="apt-get $APT_OPTS_Q -s install --no-install-recommends '?essential' '?priority(required)' $names"

json="$BENCH_DIR/resolve.json"
hyperfine --warmup 1 --runs "$RUNS" --export-json "$json" \
  -n "os-image-composer lock" "$lock_cmd" \
  -n "stage resolver alone" "$stage_cmd" \
  -n "apt-get -s install" "$apt_cmd"

ours=$(mean_of "$json" 0)
stage=$(mean_of "$json" 1)
apt=$(mean_of "$json" 2)
locked=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["packages"]))' "$BENCH_DIR/lock.json")
simulated=$(eval "$apt_cmd" | grep -c '^Inst ')
echo
echo "packages: lock $locked, apt $simulated"
printf 'lock %.3f s, resolver stage %.3f s, apt %.3f s\n' "$ours" "$stage" "$apt"
echo "ratio lock/apt: $(ratio "$ours" "$apt")   resolver stage/apt: $(ratio "$stage" "$apt")"
echo "== stage timings of one more warm lock"
eval "${lock_cmd}" 2>&1 | stage_table
