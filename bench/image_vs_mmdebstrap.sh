#!/bin/bash
# A bootable Debian 12 raw image from one package set, two ways, caches warm:
#  - os-image-composer build --lockfile of image-templates/debian12-x86_64-minimal-raw.yml,
#    three ways: --rebuild with its saved build environment removed before each
#    run (bootstrap, configure, disk); --rebuild with the environment kept (it
#    is reused: configure and disk only); and a plain build where nothing
#    changed (the outputs are checked against their build record and handed
#    back: docs/outputs.md, "Up-to-date outputs");
#  - mmdebstrap --mode=unshare --variant=custom with exactly the lock's
#    name=version list, its apt archive cache kept between runs (sync-in/sync-out
#    hooks, as mmdebstrap(1) shows), the same hostname, fstab, user and a
#    standalone GRUB made in customize hooks, then by hand in a user namespace:
#    tar extracted, sfdisk, mkfs.ext4 -d at the root partition's offset,
#    mkfs.vfat and mcopy for the ESP. mmdebstrap has no environment to reuse,
#    so its rebuild is the same run.
# Prints the means, and the ratios ours/mmdebstrap.
#
#   BUILD_DIR=/path/to/build bench/image_vs_mmdebstrap.sh [RUNS]     (default 3)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
RUNS=${1:-3}
command -v mmdebstrap >/dev/null || die "mmdebstrap is needed (apt-get install mmdebstrap)"
command -v unshare >/dev/null || die "unshare (util-linux) is needed"

TEMPLATE="$SOURCE_DIR/image-templates/debian12-x86_64-minimal-raw.yml"
PROVIDER=debian-debian12-x86_64
write_apt_root  # only for its sources.list: the mirror lines mmdebstrap gets

cfg=$(oic_config "$BENCH_DIR/oic-cache")
lock="$BENCH_DIR/image-lock.json"
"$OIC" --config "$cfg" lock "$TEMPLATE" -o "$lock" >/dev/null 2>&1 || die "lock of $TEMPLATE failed"
pkgs=$(locked_name_versions "$lock")

# Warm everything once: the package cache (ours), the apt archive cache
# (mmdebstrap); and check that both ways work before timing them.
echo "== warming up (first builds download what they need)"
"$OIC" --config "$cfg" build "$TEMPLATE" --lockfile "$lock" > "$BENCH_DIR/image-warmup.log" 2>&1 ||
  { tail -n 30 "$BENCH_DIR/image-warmup.log"; die "os-image-composer build failed"; }

mm_dir="$BENCH_DIR/mmdebstrap"
mkdir -p "$mm_dir/apt-archives"
mirrors=()
while read -r line; do mirrors+=("$line"); done < "$APT_ROOT/etc/apt/sources.list"

# The mmdebstrap way as one script, so hyperfine runs one command.
cat > "$mm_dir/image.sh" <<'SH'
#!/bin/bash
# image.sh DIR "name=version ..." MIRROR-LINE...: DIR/disk.raw from mmdebstrap.
set -euo pipefail
dir=$1 pkgs=$2; shift 2
rm -rf "$dir/rootfs.tar" "$dir/disk.raw"
mmdebstrap --quiet --mode=unshare --variant=custom --include="${pkgs// /,}" \
  --aptopt='APT::Install-Recommends "false"' \
  --skip=essential/unlink \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
  --setup-hook="sync-in $dir/apt-archives /var/cache/apt/archives/" \
  --customize-hook="sync-out /var/cache/apt/archives $dir/apt-archives" \
  --customize-hook='echo debian12-minimal > "$1/etc/hostname"' \
  --customize-hook='chroot "$1" useradd -m -s /bin/bash -G sudo debian' \
  --customize-hook='echo debian:debian | chroot "$1" chpasswd -c SHA512' \
  --customize-hook='mkdir -p "$1/boot/efi/EFI/BOOT"' \
  --customize-hook='printf "search --no-floppy --fs-uuid --set=root 0bdd7a5e-5e0d-4bb2-9fb3-0a2a44c2c2e1\nlinux /vmlinuz root=UUID=0bdd7a5e-5e0d-4bb2-9fb3-0a2a44c2c2e1 ro console=ttyS0,115200\ninitrd /initrd.img\nboot\n" > "$1/tmp/grub.cfg"' \
  --customize-hook='chroot "$1" grub-mkstandalone -O x86_64-efi --modules="part_gpt fat ext2 search linux normal configfile" --locales= --fonts= --themes= -o /boot/efi/EFI/BOOT/BOOTX64.EFI "boot/grub/grub.cfg=/tmp/grub.cfg"' \
  --customize-hook='printf "UUID=0bdd7a5e-5e0d-4bb2-9fb3-0a2a44c2c2e1 / ext4 defaults 0 1\nUUID=4E1D-0C2A /boot/efi vfat umask=0077 0 2\n" > "$1/etc/fstab"' \
  --customize-hook='rm -f "$1/tmp/grub.cfg"' \
  bookworm "$dir/rootfs.tar" "$@"
# The disk, as the diskmaker does it: inside a user namespace so owners,
# modes and capabilities are the image's, file systems made at their offsets.
unshare --map-auto --map-root-user --mount bash -euo pipefail -c '
  dir=$1
  rm -rf "$dir/tree" "$dir/esp"; mkdir -p "$dir/tree" "$dir/esp"
  tar --numeric-owner --exclude="./dev/*" -xpf "$dir/rootfs.tar" -C "$dir/tree"
  mv "$dir/tree/boot/efi/EFI" "$dir/esp/"
  truncate -s 2G "$dir/disk.raw"
  printf "label: gpt\nstart=1MiB, size=128MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nstart=129MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709\n" |
    sfdisk -q "$dir/disk.raw"
  mkfs.ext4 -q -F -U 0bdd7a5e-5e0d-4bb2-9fb3-0a2a44c2c2e1 -d "$dir/tree" \
    -E offset=$((129 * 1024 * 1024)),root_owner=0:0 "$dir/disk.raw" $(((2048 - 129 - 1) * 1024))k
  mkfs.vfat -F 32 -s 1 -i 4E1D0C2A --offset 2048 "$dir/disk.raw" $((128 * 1024)) >/dev/null
  MTOOLS_SKIP_CHECK=1 mcopy -s -i "$dir/disk.raw@@$((1024 * 1024))" "$dir/esp/EFI" ::/
  rm -rf "$dir/tree" "$dir/esp"
' _ "$dir"
SH
# shellcheck disable=SC2086
bash "$mm_dir/image.sh" "$mm_dir" "$pkgs" "${mirrors[@]}" > "$BENCH_DIR/mmdebstrap-warmup.log" 2>&1 ||
  { tail -n 30 "$BENCH_DIR/mmdebstrap-warmup.log"; die "the mmdebstrap image failed"; }

# The saved build environment lives in the cache and is owned by subordinate
# ids: remove it from inside a user namespace with the same mapping.
buildenv="$BENCH_DIR/oic-cache/buildenv"
ours_cmd="$(printf '%q ' "$OIC" --config "$cfg" build "$TEMPLATE" --lockfile "$lock") >/dev/null 2>&1"
forced_cmd="$(printf '%q ' "$OIC" --config "$cfg" build "$TEMPLATE" --lockfile "$lock" --rebuild) >/dev/null 2>&1"
mm_cmd="bash $(printf '%q ' "$mm_dir/image.sh" "$mm_dir" "$pkgs" "${mirrors[@]}") >/dev/null 2>&1"

json="$BENCH_DIR/image.json"
# One --prepare per command (a single one would apply to all): only the
# bootstrap runs lose the saved build environment.
hyperfine --runs "$RUNS" --export-json "$json" \
  --prepare "unshare --map-auto --map-root-user rm -rf $(printf '%q' "$buildenv")" \
  --prepare true --prepare true --prepare true \
  -n "os-image-composer build --lockfile --rebuild (bootstrap)" "$forced_cmd" \
  -n "os-image-composer build --lockfile --rebuild (build environment reused)" "$forced_cmd" \
  -n "os-image-composer build --lockfile (rebuild, nothing changed)" "$ours_cmd" \
  -n "mmdebstrap + sfdisk/mkfs by hand" "$mm_cmd"

ours=$(mean_of "$json" 0)
reused=$(mean_of "$json" 1)
rebuild=$(mean_of "$json" 2)
mm=$(mean_of "$json" 3)
echo
echo "packages: $(wc -w <<<"$pkgs"); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'ours %.1f s, ours with the build environment reused %.1f s, ours rebuild (nothing changed) %.1f s, mmdebstrap %.1f s\n' \
  "$ours" "$reused" "$rebuild" "$mm"
printf 'ratio ours/mmdebstrap %s, reused/mmdebstrap %s, rebuild/mmdebstrap %s\n' \
  "$(ratio "$ours" "$mm")" "$(ratio "$reused" "$mm")" "$(ratio "$rebuild" "$mm")"
build_table() { "$OIC" --config "$cfg" build "$TEMPLATE" --lockfile "$lock" --rebuild 2>&1 | stage_table; }
echo "== stage timings of one more build, saved build environment removed"
unshare --map-auto --map-root-user rm -rf "$buildenv"
build_table
echo "== stage timings of one more build, saved build environment reused"
build_table
