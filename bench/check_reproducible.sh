#!/bin/bash
# What `build --check-reproducible` costs: one checked build of TEMPLATE
# against two plain builds of it, all from one lockfile with the package
# cache warm (docs/reproducible-builds.md, "Checking a build"):
#  - build --lockfile --rebuild --check-reproducible: the build (copying the
#    saved build environment), then the second build in a scratch directory
#    (installing without it), both outputs hashed and compared;
#  - two plain builds, both copying the saved build environment;
#  - two plain builds, the second with the saved environment removed first
#    (it installs cold and saves it again): the same install work as the check.
# Prints the three means and the ratios check / two plain builds.
#
#   BUILD_DIR=/path/to/build bench/check_reproducible.sh [RUNS]        (default 3)
#   TEMPLATE=FILE    the template (default image-templates/debian12-x86_64-minimal-raw.yml,
#                    from this machine's bookworm mirror)
#   OIC_CONFIG=FILE  a global config of your own (cache_dir, work_dir, config_dir),
#                    instead of one under $BENCH_DIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUNS=${1:-3}
command -v unshare >/dev/null || die "unshare (util-linux) is needed"

TEMPLATE=${TEMPLATE:-$SOURCE_DIR/image-templates/debian12-x86_64-minimal-raw.yml}
cfg=${OIC_CONFIG:-$(oic_config "$BENCH_DIR/oic-cache")}
cache_dir=$("$OIC" --config "$cfg" config show 2>/dev/null | sed -n 's/^cache_dir: *//p')
[[ -n $cache_dir ]] || die "'config show' with $cfg names no cache_dir"
lock="$BENCH_DIR/check-lock.json"
"$OIC" --config "$cfg" lock "$TEMPLATE" -o "$lock" >/dev/null 2>&1 || die "lock of $TEMPLATE failed"

# Warm up, and check that the template builds reproducibly before timing it:
# a check that fails would be timed short of its report.
echo "== warming up (the first build downloads what it needs and saves the build environment)"
"$OIC" --config "$cfg" build "$TEMPLATE" --lockfile "$lock" --rebuild --check-reproducible \
  > "$BENCH_DIR/check-warmup.log" 2>&1 ||
  { tail -n 30 "$BENCH_DIR/check-warmup.log"; die "build --check-reproducible of $TEMPLATE failed or found a difference"; }
grep 'The build is reproducible' "$BENCH_DIR/check-warmup.log"

# The saved build environment is owned by subordinate ids: removed from
# inside a user namespace with the same mapping.
drop_env="unshare --map-auto --map-root-user rm -rf $(printf '%q' "$cache_dir/buildenv")"
build="$(printf '%q ' "$OIC" --config "$cfg" build "$TEMPLATE" --lockfile "$lock" --rebuild)"
check_cmd="$build --check-reproducible >/dev/null 2>&1"
plain_cmd="$build >/dev/null 2>&1 && $build >/dev/null 2>&1"
cold_cmd="$build >/dev/null 2>&1 && $drop_env && $build >/dev/null 2>&1"

json="$BENCH_DIR/check.json"
hyperfine --runs "$RUNS" --export-json "$json" \
  -n "build --check-reproducible" "$check_cmd" \
  -n "two plain builds (build environment copied by both)" "$plain_cmd" \
  -n "two plain builds (the second installs without the build environment)" "$cold_cmd"

check=$(mean_of "$json" 0)
plain=$(mean_of "$json" 1)
cold=$(mean_of "$json" 2)
echo
echo "template: $TEMPLATE; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'check %.1f s, two plain builds %.1f s, two plain builds with one cold install %.1f s\n' "$check" "$plain" "$cold"
printf 'ratio check/two plain %s, check/two plain with one cold %s\n' "$(ratio "$check" "$plain")" "$(ratio "$check" "$cold")"
