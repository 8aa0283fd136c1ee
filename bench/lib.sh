# Shared by every bench/*.sh script (sourced, not run): where things are,
# the tools every benchmark needs, and hyperfine's results read back.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=$(dirname "$HERE")
BUILD_DIR=${BUILD_DIR:-$SOURCE_DIR/build}
OIC="$BUILD_DIR/supervisor/os-image-composer"
BENCH_DIR=${BENCH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/os-image-composer-bench}

die() { echo "error: $*" >&2; exit 1; }

[[ -x "$OIC" ]] || die "'$OIC' not found: build it, or set BUILD_DIR"
command -v hyperfine >/dev/null || die "hyperfine is needed (apt-get install hyperfine)"
command -v python3 >/dev/null || die "python3 is needed to read the template and lock"
mkdir -p "$BENCH_DIR"

# A global config per cache dir, so every run states where it keeps things.
# oic_config CACHE_DIR [CONFIG_DIR] -> path of the config file
oic_config() {
  local cache=$1 cfg="$1.config.yml"
  mkdir -p "$BENCH_DIR/work" "$BENCH_DIR/tmp"
  printf 'workers: %s\ncache_dir: %s\nwork_dir: %s\ntemp_dir: %s\n' \
    "${WORKERS:-8}" "$cache" "$BENCH_DIR/work" "$BENCH_DIR/tmp" > "$cfg"
  [[ -z ${2:-} ]] || printf 'config_dir: %s\n' "$2" >> "$cfg"
  echo "$cfg"
}

# "name=version" for every package of a lock file.
locked_name_versions() {
  python3 -c '
import json, sys
print(" ".join(p["name"] + "=" + p["version"] for p in json.load(open(sys.argv[1]))["packages"]))' "$1"
}

# Mean wall time (s) of a hyperfine JSON export, command index $2.
mean_of() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["mean"])' "$1" "$2"
}

# Mean CPU time (s, user + system, children included) of command $2: less
# swayed than wall time by other work on a shared machine.
cpu_of() {
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]
print(r["user"] + r["system"])' "$1" "$2"
}

ratio() { python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.2f}")' "$1" "$2"; }

# The stage timing table of a run's output: per stage job its wall and CPU
# seconds and peak memory (MiB, the largest process), its steps below it,
# and the totals with the largest peak (docs/cli.md, "The timing table").
stage_table() { sed -n '/^JOB /,/^total (stage time)/p'; }
