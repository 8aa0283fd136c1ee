#!/bin/bash
# Downloading one Debian 12 image's package set into an empty cache:
# `os-image-composer build --lockfile` with a fresh cache dir (packages
# fetched and verified; it ends where the installer would start) against
# `apt-get download` of the same name=version list into an empty directory,
# from the scratch root's already updated lists. Goal: no slower than apt.
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
# A copy of the CLI in a tree that holds only the fetcher and verifier
# stages (the CLI looks for stages beside its own binary), so the build stops
# where installing would start, whatever stages the build tree has; it must
# have put every package in the cache by then.
tree="$BENCH_DIR/download-tree"
rm -rf "$tree" && mkdir -p "$tree/supervisor" "$tree/stages/fetcher" "$tree/stages/verifier"
cp "$OIC" "$tree/supervisor/"
# Copies, not links: the sandbox binds a stage binary by its path.
cp "$BUILD_DIR/stages/fetcher/stage-fetcher" "$tree/stages/fetcher/"
cp "$BUILD_DIR/stages/verifier/stage-verifier" "$tree/stages/verifier/"
ours_cmd="$(printf '%q ' "$tree/supervisor/os-image-composer" --config "$fresh_cfg") build $(printf '%q' "$BENCH_DIR/bench.yml") --lockfile $(printf '%q' "$lock") 2>&1 | grep -q 'packages verified in the cache'"
apt_cmd="cd $(printf '%q' "$apt_dir") && apt-get $APT_OPTS_Q -qq download $pkgs"

json="$BENCH_DIR/download.json"
hyperfine --runs "$RUNS" --export-json "$json" \
  -n "os-image-composer build --lockfile (empty cache)" \
  --prepare "rm -rf $(printf '%q' "$fresh")" "$ours_cmd" \
  -n "apt-get download (empty dir)" \
  --prepare "rm -rf $(printf '%q' "$apt_dir") && mkdir -p $(printf '%q' "$apt_dir")" "$apt_cmd"

ours=$(mean_of "$json" 0)
apt=$(mean_of "$json" 1)
echo
echo "packages: $(wc -w <<<"$pkgs"), $((bytes / 1000000)) MB"
printf 'ours %.2f s, apt %.2f s, ratio ours/apt %s\n' "$ours" "$apt" "$(ratio "$ours" "$apt")"
