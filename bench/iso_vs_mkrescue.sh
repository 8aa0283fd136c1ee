#!/bin/bash
# The Debian 12 default installer ISO from one package set, two ways, package
# caches warm:
#  - os-image-composer build --lockfile --rebuild of
#    image-templates/debian12-x86_64-minimal-iso.yml, once with its saved build
#    environments removed before each run (cold) and once with them kept (saved);
#  - by hand: mmdebstrap --mode=unshare of the target's locked set, packed into a
#    raw disk (sfdisk, mkfs.ext4 -d, mkfs.vfat + mcopy) and gzipped, its packages
#    made a flat /cache-repo with apt-ftparchive; mmdebstrap of the live
#    environment's locked set (the build's .live.lock.json) packed as a gzip
#    newc cpio, then xorriso and mtools added to that tree and grub-mkrescue run
#    inside it to write the hybrid ISO (kernel, initrd, raw.gz, cache-repo).
# Prints both mean times, both ISO sizes and the ratios ours/by hand.
#
#   BUILD_DIR=/path/to/build bench/iso_vs_mkrescue.sh [RUNS]     (default 1)
#   BUILD_DIR=/path/to/build bench/iso_vs_mkrescue.sh --peer-only
# --peer-only makes the by-hand ISO once, untimed (the tool builds once to
# give it the live lock), and prints its size: a check of the peer's steps.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PEER_ONLY=0
case ${1:-} in
  --peer-only) PEER_ONLY=1; RUNS=1 ;;
  ''|[1-9]|[1-9][0-9]) RUNS=${1:-1} ;;
  *) die "usage: $0 [RUNS (1-99) | --peer-only], not '$1'" ;;
esac
for tool in mmdebstrap unshare apt-ftparchive sfdisk mkfs.ext4 mkfs.vfat mcopy; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done
LIVE_INSTALLER="$BUILD_DIR/live/live-installer"
[[ -x "$LIVE_INSTALLER" ]] || die "'$LIVE_INSTALLER' not found: build it (the live environment carries it)"

TEMPLATE="$SOURCE_DIR/image-templates/debian12-x86_64-minimal-iso.yml"
PROVIDER=debian-debian12-x86_64
write_apt_root  # only for its sources.list: the mirror lines mmdebstrap gets

cfg=$(oic_config "$BENCH_DIR/oic-cache")
lock="$BENCH_DIR/iso-lock.json"
"$OIC" --config "$cfg" lock "$TEMPLATE" -o "$lock" >/dev/null 2>&1 || die "lock of $TEMPLATE failed"
# Where the build publishes: <work>/<provider>/imagebuild/<systemConfig.name>/<name>-<version>.*
out_base=$("$OIC" --config "$cfg" validate --merged "$TEMPLATE" 2>/dev/null | python3 -c '
import sys, yaml
t = yaml.safe_load(sys.stdin)
print(t["systemConfig"]["name"] + "/" + t["image"]["name"] + "-" + str(t["image"]["version"]))') ||
  die "could not read the merged template of $TEMPLATE"
out_base="$BENCH_DIR/work/$PROVIDER/imagebuild/$out_base"

echo "== warming up (the first build downloads what it needs and gives the live lock)"
"$OIC" --config "$cfg" build "$TEMPLATE" --lockfile "$lock" > "$BENCH_DIR/iso-warmup.log" 2>&1 ||
  { tail -n 30 "$BENCH_DIR/iso-warmup.log"; die "os-image-composer build failed"; }
[[ -f "$out_base.iso" && -f "$out_base.live.lock.json" ]] || die "no $out_base.iso or .live.lock.json after the build"
target_pkgs=$(locked_name_versions "$lock")
live_pkgs=$(locked_name_versions "$out_base.live.lock.json")

mm_dir="$BENCH_DIR/mkrescue"
mkdir -p "$mm_dir/apt-archives"
mirrors=()
while read -r line; do mirrors+=("$line"); done < "$APT_ROOT/etc/apt/sources.list"

# The by-hand way as one script, so hyperfine runs one command.
cat > "$mm_dir/iso.sh" <<'SH'
#!/bin/bash
# iso.sh DIR "target name=version ..." "live name=version ..." LIVE-INSTALLER FILES-DIR RAW-NAME MIRROR-LINE...
# -> DIR/mkrescue.iso
set -euo pipefail
dir=$1 target_pkgs=$2 live_pkgs=$3 installer=$4 files=$5 raw_name=$6; shift 6
rm -rf "$dir/rootfs.tar" "$dir/disk.raw" "$dir/medium" "$dir/mkrescue.iso"
mkdir -p "$dir/medium/images" "$dir/medium/cache-repo" "$dir/medium/boot/grub"
common=(--quiet --mode=unshare --variant=custom --aptopt='APT::Install-Recommends "false"'
  --skip=essential/unlink --setup-hook='mkdir -p "$1"/var/cache/apt/archives/'
  --setup-hook="sync-in $dir/apt-archives /var/cache/apt/archives/")

# The target: its locked set as a bootable raw disk (as image_vs_mmdebstrap.sh does).
mmdebstrap "${common[@]}" --include="${target_pkgs// /,}" \
  --customize-hook="sync-out /var/cache/apt/archives $dir/apt-archives" \
  --customize-hook='echo debian12 > "$1/etc/hostname"' \
  --customize-hook='mkdir -p "$1/boot/efi/EFI/BOOT"' \
  --customize-hook='printf "search --no-floppy --fs-uuid --set=root 0bdd7a5e-5e0d-4bb2-9fb3-0a2a44c2c2e1\nlinux /vmlinuz root=UUID=0bdd7a5e-5e0d-4bb2-9fb3-0a2a44c2c2e1 ro console=ttyS0,115200\ninitrd /initrd.img\nboot\n" > "$1/tmp/grub.cfg"' \
  --customize-hook='chroot "$1" grub-mkstandalone -O x86_64-efi --modules="part_gpt fat ext2 search linux normal configfile" --locales= --fonts= --themes= -o /boot/efi/EFI/BOOT/BOOTX64.EFI "boot/grub/grub.cfg=/tmp/grub.cfg"' \
  --customize-hook='printf "UUID=0bdd7a5e-5e0d-4bb2-9fb3-0a2a44c2c2e1 / ext4 defaults 0 1\nUUID=4E1D-0C2A /boot/efi vfat umask=0077 0 2\n" > "$1/etc/fstab"' \
  --customize-hook='rm -f "$1/tmp/grub.cfg"' \
  bookworm "$dir/rootfs.tar" "$@"
# The template's disk: 4 GiB, GPT, ESP 1-513 MiB, root to the end.
unshare --map-auto --map-root-user --mount bash -euo pipefail -c '
  dir=$1
  rm -rf "$dir/tree" "$dir/esp"; mkdir -p "$dir/tree" "$dir/esp"
  tar --numeric-owner --exclude="./dev/*" -xpf "$dir/rootfs.tar" -C "$dir/tree"
  mv "$dir/tree/boot/efi/EFI" "$dir/esp/"
  truncate -s 4G "$dir/disk.raw"
  printf "label: gpt\nstart=1MiB, size=512MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nstart=513MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709\n" |
    sfdisk -q "$dir/disk.raw"
  mkfs.ext4 -q -F -U 0bdd7a5e-5e0d-4bb2-9fb3-0a2a44c2c2e1 -d "$dir/tree" \
    -E offset=$((513 * 1024 * 1024)),root_owner=0:0 "$dir/disk.raw" $(((4096 - 513 - 1) * 1024))k
  mkfs.vfat -F 32 -s 1 -i 4E1D0C2A --offset 2048 "$dir/disk.raw" $((512 * 1024)) >/dev/null
  MTOOLS_SKIP_CHECK=1 mcopy -s -i "$dir/disk.raw@@$((1024 * 1024))" "$dir/esp/EFI" ::/
  rm -rf "$dir/tree" "$dir/esp" "$dir/rootfs.tar"
' _ "$dir"
gzip -n < "$dir/disk.raw" > "$dir/medium/images/$raw_name.raw.gz"
rm -f "$dir/disk.raw"

# The target's packages as a flat repository, exactly the locked versions.
for pkg in $target_pkgs; do
  name=${pkg%%=*} version=${pkg#*=}
  debs=("$dir/apt-archives/${name}_${version//:/%3a}"_*.deb)
  [[ -f ${debs[0]} ]] || { echo "no archive of $pkg in $dir/apt-archives" >&2; exit 1; }
  ln "${debs[0]}" "$dir/medium/cache-repo/"
done
(cd "$dir/medium/cache-repo" && apt-ftparchive packages . > Packages && apt-ftparchive release . > Release)

cat > "$dir/medium/boot/grub/grub.cfg" <<'CFG'
set timeout=5
menuentry "Install" {
  linux /images/vmlinuz console=tty0 console=ttyS0,115200
  initrd /images/initrd.img
}
menuentry "Debug shell" {
  linux /images/vmlinuz console=tty0 console=ttyS0,115200 rdinit=/bin/sh
  initrd /images/initrd.img
}
menuentry "Boot from local disk" {
  exit
}
CFG

# The live environment: its locked set plus this project's installer and the
# template's files, packed (without /boot, /tmp and apt's lists and archives)
# as a sorted gzip newc cpio with the tree's own cpio; then xorriso and mtools
# are added to the tree, outside the initrd, and grub-mkrescue runs in it.
pack='cd / && find . \( -path "./proc/*" -o -path "./sys/*" -o -path "./dev/*" -o -path "./boot/*" -o -path "./tmp/*" -o -path "./var/lib/apt/lists/*" -o -path "./var/cache/apt/archives/*" \) -prune -o -print | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible'
mmdebstrap "${common[@]}" --include="${live_pkgs// /,}" \
  --customize-hook="upload $installer /usr/bin/live-installer" \
  --customize-hook="upload $files/dhcp.network /etc/systemd/network/20-dhcp.network" \
  --customize-hook='mkdir -p "$1/etc/systemd/system/getty@.service.d" "$1/etc/systemd/system/serial-getty@.service.d"' \
  --customize-hook="upload $files/getty-autologin.conf /etc/systemd/system/getty@.service.d/autologin.conf" \
  --customize-hook="upload $files/serial-getty-autologin.conf /etc/systemd/system/serial-getty@.service.d/autologin.conf" \
  --customize-hook="upload $files/attendedinstaller /root/attendedinstaller" \
  --customize-hook='chmod 0755 "$1/usr/bin/live-installer" "$1/root/attendedinstaller"' \
  --customize-hook='chroot "$1" systemctl enable systemd-networkd.service' \
  --customize-hook='[ -e "$1/init" ] || ln -s sbin/init "$1/init"' \
  --customize-hook='mkdir -p "$1/tmp/iso/images" && cp "$1"/boot/vmlinuz-* "$1/tmp/iso/images/vmlinuz"' \
  --customize-hook="chroot \"\$1\" sh -c '$pack' | gzip -n > \"\$1/tmp/iso/images/initrd.img\"" \
  --customize-hook='chroot "$1" apt-get install -y -q --no-install-recommends xorriso mtools >/dev/null' \
  --customize-hook="sync-out /var/cache/apt/archives $dir/apt-archives" \
  --customize-hook="sync-in $dir/medium /tmp/iso" \
  --customize-hook='chroot "$1" grub-mkrescue -o /tmp/mkrescue.iso /tmp/iso -- -volid ICT_CDROM 2>/dev/null' \
  --customize-hook="download /tmp/mkrescue.iso $dir/mkrescue.iso" \
  bookworm /dev/null "$@"
rm -rf "$dir/medium"
SH
files_dir="$SOURCE_DIR/config/osv/debian/debian12/imageconfigs/additionalfiles"
raw_name=$(basename "$out_base")
peer_args=("$mm_dir" "$target_pkgs" "$live_pkgs" "$LIVE_INSTALLER" "$files_dir" "$raw_name" "${mirrors[@]}")
bash "$mm_dir/iso.sh" "${peer_args[@]}" > "$BENCH_DIR/mkrescue-warmup.log" 2>&1 ||
  { tail -n 30 "$BENCH_DIR/mkrescue-warmup.log"; die "the grub-mkrescue ISO failed"; }
ours_size=$(stat -c %s "$out_base.iso")
peer_size=$(stat -c %s "$mm_dir/mkrescue.iso")
sizes() {
  printf 'ISO size: ours %d MiB, grub-mkrescue %d MiB, ratio %s\n' \
    $((ours_size / 1048576)) $((peer_size / 1048576)) "$(ratio "$ours_size" "$peer_size")"
}
if ((PEER_ONLY)); then
  echo "packages: target $(wc -w <<<"$target_pkgs"), live $(wc -w <<<"$live_pkgs")"
  sizes
  exit 0
fi

# The saved build environments live in the cache and are owned by subordinate
# ids: remove them from inside a user namespace with the same mapping.
buildenv="$BENCH_DIR/oic-cache/buildenv"
ours_cmd="$(printf '%q ' "$OIC" --config "$cfg" build "$TEMPLATE" --lockfile "$lock" --rebuild) >/dev/null 2>&1"
mm_cmd="bash $(printf '%q ' "$mm_dir/iso.sh" "${peer_args[@]}") >/dev/null 2>&1"

json="$BENCH_DIR/iso.json"
hyperfine --runs "$RUNS" --export-json "$json" \
  --prepare "unshare --map-auto --map-root-user rm -rf $(printf '%q' "$buildenv")" \
  --prepare true --prepare true \
  -n "os-image-composer build --lockfile --rebuild (build environments cold)" "$ours_cmd" \
  -n "os-image-composer build --lockfile --rebuild (build environments saved)" "$ours_cmd" \
  -n "mmdebstrap + mkfs + apt-ftparchive + grub-mkrescue by hand" "$mm_cmd"

cold=$(mean_of "$json" 0)
saved=$(mean_of "$json" 1)
mm=$(mean_of "$json" 2)
echo
echo "packages: target $(wc -w <<<"$target_pkgs"), live $(wc -w <<<"$live_pkgs"); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'ours (build environments cold) %.1f s, ours (saved) %.1f s, grub-mkrescue by hand %.1f s\n' "$cold" "$saved" "$mm"
printf 'ratio cold/by hand %s, saved/by hand %s\n' "$(ratio "$cold" "$mm")" "$(ratio "$saved" "$mm")"
sizes
echo "== stage timings of one more build, build environments saved"
"$OIC" --config "$cfg" build "$TEMPLATE" --lockfile "$lock" --rebuild 2>&1 | stage_table
