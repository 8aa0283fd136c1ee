#!/bin/bash
# Downloading one Debian 12 image's package set into an empty cache, the same
# work on both sides:
#  - ours: `os-image-composer fetch --lockfile` with a fresh cache dir: every
#    pinned package is downloaded (the fetcher hashes it on the way), its
#    sha256 and size checked again by the verifier, and committed to the
#    content-addressed cache (re-hashed there). It ends when every package is
#    verified in the cache. No archive-content check: apt-get download does
#    none either (a build runs it after this, before installing).
#  - apt: `apt-get download` of the same name=version list into an empty
#    directory, from the scratch root's already updated lists (apt checks each
#    file's hash from its index).
# Goal: ours no slower than apt. A third entry, `fetch --check-archives`, is
# the same download plus the archive-content check a build runs before
# installing (the verifier walks every package's tars), so that cost is shown
# too; the stage timing table of one such run follows.
#
#   BUILD_DIR=/path/to/build bench/download_vs_apt.sh [RUNS]     (default 3)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RUNS=${1:-3}

write_apt_root
echo "== apt-get update in $APT_ROOT"
apt-get "${APT_OPTS[@]}" -qq update
apt-cache "${APT_OPTS[@]}" -q gencaches >/dev/null

lock="$BENCH_DIR/download-lock.json"
cfg=$(oic_config "$BENCH_DIR/oic-cache")
"$OIC" --config "$cfg" lock "$BENCH_DIR/bench.yml" -o "$lock" >/dev/null 2>&1 || die "lock failed"
pkgs=$(locked_name_versions "$lock")
bytes=$(python3 -c 'import json,sys; print(sum(p["size"] for p in json.load(open(sys.argv[1]))["packages"]))' "$lock")

fresh="$BENCH_DIR/fresh-cache"
fresh_cfg=$(oic_config "$fresh")
apt_dir="$BENCH_DIR/apt-download"
fetch_cmd="$(printf '%q ' "$OIC" --config "$fresh_cfg") fetch $(printf '%q' "$BENCH_DIR/bench.yml") --lockfile $(printf '%q' "$lock")"
ours_cmd="$fetch_cmd >/dev/null 2>&1"
checked_cmd="$fetch_cmd --check-archives >/dev/null 2>&1"
apt_cmd="cd $(printf '%q' "$apt_dir") && apt-get $APT_OPTS_Q -qq download $pkgs"
fresh_prepare="rm -rf $(printf '%q' "$fresh")"

json="$BENCH_DIR/download.json"
hyperfine --runs "$RUNS" --export-json "$json" \
  -n "os-image-composer fetch --lockfile (empty cache)" --prepare "$fresh_prepare" "$ours_cmd" \
  -n "apt-get download (empty dir)" \
  --prepare "rm -rf $(printf '%q' "$apt_dir") && mkdir -p $(printf '%q' "$apt_dir")" "$apt_cmd" \
  -n "os-image-composer fetch --lockfile --check-archives (empty cache)" --prepare "$fresh_prepare" "$checked_cmd"

ours=$(mean_of "$json" 0)
apt=$(mean_of "$json" 1)
checked=$(mean_of "$json" 2)
echo
echo "== stage timings of one fetch --check-archives into an empty cache"
rm -rf "$fresh"
eval "$fetch_cmd --check-archives" 2>&1 | sed -n '/^JOB /,/^total (stage time)/p'
echo
echo "packages: $(wc -w <<<"$pkgs"), $((bytes / 1000000)) MB"
printf 'ours %.2f s, apt %.2f s, ratio ours/apt %s\n' "$ours" "$apt" "$(ratio "$ours" "$apt")"
printf 'archive-content check (not part of the comparison): fetch --check-archives %.2f s, %.2f s more\n' \
  "$checked" "$(python3 -c 'import sys; print(float(sys.argv[1]) - float(sys.argv[2]))' "$checked" "$ours")"
