#!/bin/sh
# Usage: capnp_compile.sh CAPNP SOURCE_ROOT BUILD_ROOT OUTDIR SCHEMA...
#
# Generates C++ for each schema at its own path under the build root, so that
# "ipc/stage.capnp.h" and "stages/fetcher/fetcher.capnp.h" are found from the
# build root like any header of the project. Meson wants every output of one
# target in that target's folder (OUTDIR): a schema of another folder is also
# copied there, as the code the library compiles and the header beside it.
set -eu
capnp=$1 source_root=$(realpath "$2") build_root=$(realpath "$3") outdir=$(realpath "$4")
shift 4
schemas=$(realpath "$@")
# shellcheck disable=SC2086 # one schema path per word; the project's paths have no spaces
"$capnp" compile --src-prefix="$source_root" -I"$source_root" -oc++:"$build_root" $schemas
for schema in $schemas; do
  generated="$build_root/${schema#"$source_root"/}"
  name=$(basename "$schema")
  if [ "$(dirname "$generated")" != "$outdir" ]; then
    cp "$generated.h" "$outdir/$name.h"
    cp "$generated.c++" "$outdir/$name.c++"
  fi
done
