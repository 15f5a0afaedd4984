#!/usr/bin/env bash
# Builds nova's tiny test guest from Debian packages, in two forms:
#
#   OUTDIR/aki-vmlinuz      kernel      (AKI)
#   OUTDIR/ari-initrd.img   ramdisk     (ARI): busybox, virtio modules, /init
#   OUTDIR/ami-root.img     root disk   (AMI): a raw 8 MiB ext2 file system
#   OUTDIR/disk.qcow2       whole disk  (qcow2, boots by itself with syslinux)
#   OUTDIR/manifest.json    what was built from what
#
#   tools/build_test_image.sh OUTDIR
#
# The guest lives in its initramfs (tools/test_image/init); both root disks
# only hold a marker file and a boot counter the guest bumps at each boot.
# The whole-disk form is a FAT "superfloppy" (no partition table) with
# syslinux in its boot sector and the same kernel and initrd as files, so
# it is made without mounting anything or touching a loop device.
#
# The kernel (linux-image-<version>-cloud-amd64) and busybox-static are
# fetched with `apt-get download` and unpacked with dpkg-deb -x into a
# scratch directory: nothing is installed on the host.  The .debs are kept in
# OUTDIR/debs; a second run with the same inputs prints the outputs and
# exits (the stamp covers this script and tools/test_image/*).
#
# Host tools needed (tools/apt-packages.txt): apt, dpkg, cpio, gzip, kmod
# (depmod/modprobe), e2fsprogs, dosfstools, mtools, syslinux,
# syslinux-common, qemu-utils.  Override the kernel package with
# NOVA_TEST_KERNEL_PKG=linux-image-...; force a rebuild with FORCE=1.
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
if [ $# -ne 1 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    usage >&2
    exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
src=$here/test_image
mkdir -p "$1"
out=$(cd "$1" && pwd)
debs=$out/debs
mkdir -p "$debs"

for tool in apt-get apt-cache dpkg-deb cpio gzip depmod modprobe mke2fs \
            mkfs.fat mcopy syslinux qemu-img sha1sum; do
    command -v "$tool" >/dev/null || {
        echo "build_test_image: $tool is missing; run tools/install_deps.sh" >&2
        exit 1
    }
done
ldlinux=/usr/lib/syslinux/modules/bios/ldlinux.c32
[ -f "$ldlinux" ] || { echo "build_test_image: $ldlinux missing (syslinux-common)" >&2; exit 1; }

outputs=(aki-vmlinuz ari-initrd.img ami-root.img disk.qcow2 manifest.json)
stamp=$(cat "$0" "$src"/* | sha1sum | cut -d' ' -f1)
fresh=1
for f in "${outputs[@]}" .stamp; do [ -s "$out/$f" ] || fresh=0; done
if [ "$fresh" = 1 ] && [ "${FORCE:-0}" != 1 ] && \
        [ "$(cat "$out/.stamp")" = "$stamp" ]; then
    echo "build_test_image: up to date in $out"
    for f in "${outputs[@]}"; do echo "  $out/$f"; done
    exit 0
fi

# Which kernel: the one Debian's cloud metapackage points at today.
kpkg=${NOVA_TEST_KERNEL_PKG:-}
if [ -z "$kpkg" ]; then
    kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null \
           | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
if [ -z "$kpkg" ]; then
    echo "build_test_image: cannot resolve linux-image-cloud-amd64;" \
         "run apt-get update (or set NOVA_TEST_KERNEL_PKG)" >&2
    exit 1
fi

fetch() {  # fetch PACKAGE: its .deb in $debs (downloaded once); prints the path
    local pkg=$1 deb
    deb=$(ls "$debs/${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
    if [ -z "$deb" ]; then
        (cd "$debs" && apt-get download -q "$pkg" >/dev/null 2>"$debs/$pkg.log") || {
            echo "build_test_image: apt-get download $pkg failed:" >&2
            cat "$debs/$pkg.log" >&2
            exit 1
        }
        deb=$(ls "$debs/${pkg}"_*.deb | head -n 1)
    fi
    echo "$deb"
}
kdeb=$(fetch "$kpkg")
# Kernels Debian has since replaced are of no more use here.
for old in "$debs"/linux-image-*.deb; do
    [ "$old" = "$kdeb" ] || rm -f "$old"
done
bdeb=$(fetch busybox-static)

work=$(mktemp -d "${TMPDIR:-/tmp}/nova-test-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$kdeb" "$work/kernel"
dpkg-deb -x "$bdeb" "$work/busybox"

kver=$(ls "$work/kernel/lib/modules" | head -n 1)
vmlinuz=$work/kernel/boot/vmlinuz-$kver
[ -f "$vmlinuz" ] || { echo "build_test_image: no kernel in $kdeb" >&2; exit 1; }

# --- initrd ---------------------------------------------------------------
root=$work/initrd
mkdir -p "$root"/{bin,dev,etc/acpi/PWRF,lib/modules,proc,sys,tmp,mnt,www,var/log}
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
install -m 0755 "$src/init" "$root/init"
install -m 0755 "$src/udhcpc.script" "$root/etc/udhcpc.script"
install -m 0755 "$src/acpi-power" "$root/etc/acpi/PWRF/00000080"
# The kernel opens /dev/console before /init can mount devtmpfs.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

# The drivers the guest needs, with what they depend on, in load order.
depmod -b "$work/kernel" "$kver"
wanted="virtio_pci virtio_blk virtio_net isofs vfat nls_cp437 nls_ascii nls_utf8 nls_iso8859-1 button evdev"
: >"$root/etc/modules.order"
for m in $wanted; do
    modprobe -d "$work/kernel" -S "$kver" --show-depends "$m" \
        | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r path; do
    base=$(basename "$path")
    cp "$path" "$root/lib/modules/$base"
    echo "$base" >>"$root/etc/modules.order"
done
[ -s "$root/etc/modules.order" ] || { echo "build_test_image: no modules found" >&2; exit 1; }

(cd "$root" && find . -print0 | LC_ALL=C sort -z \
    | cpio --null -o -H newc --quiet --owner=0:0) | gzip -9 -n >"$work/initrd.img"

# --- AMI root disk (raw ext2) ---------------------------------------------
amiroot=$work/amiroot
mkdir -p "$amiroot"
echo ami >"$amiroot/nova-test-image.txt"
echo 0 >"$amiroot/boot-count"
rm -f "$work/ami-root.img"
mke2fs -q -t ext2 -F -L nova-root -d "$amiroot" "$work/ami-root.img" 8M >/dev/null

# --- whole disk (FAT superfloppy + syslinux) -------------------------------
disk=$work/disk.raw
ksize=$(stat -c %s "$vmlinuz")
isize=$(stat -c %s "$work/initrd.img")
mib=$(( (ksize + isize) / 1048576 + 8 ))
truncate -s "${mib}M" "$disk"
mkfs.fat -n NOVADISK "$disk" >/dev/null
echo whole-disk >"$work/nova-test-image.txt"
echo 0 >"$work/boot-count"
export MTOOLS_SKIP_CHECK=1
mcopy -i "$disk" "$vmlinuz" ::/vmlinuz
mcopy -i "$disk" "$work/initrd.img" ::/initrd.img
mcopy -i "$disk" "$src/syslinux.cfg" ::/syslinux.cfg
mcopy -i "$disk" "$ldlinux" ::/ldlinux.c32
mcopy -i "$disk" "$work/nova-test-image.txt" ::/nova-test-image.txt
mcopy -i "$disk" "$work/boot-count" ::/boot-count
syslinux --install "$disk"
qemu-img convert -q -f raw -O qcow2 "$disk" "$work/disk.qcow2"

# --- publish ---------------------------------------------------------------
cp "$vmlinuz" "$work/aki-vmlinuz"
cp "$work/initrd.img" "$work/ari-initrd.img"
cat >"$work/manifest.json" <<EOF
{"kernel_package": "$(basename "$kdeb")",
 "busybox_package": "$(basename "$bdeb")",
 "kernel_version": "$kver",
 "modules": "$(tr '\n' ' ' <"$root/etc/modules.order" | sed 's/ $//')",
 "aki": "aki-vmlinuz", "ari": "ari-initrd.img", "ami": "ami-root.img",
 "ami_cmdline": "root=/dev/vda console=ttyS0",
 "disk": "disk.qcow2", "disk_format": "qcow2",
 "marker": "NOVA-TEST-IMAGE-BOOTED instance-id="}
EOF
rm -f "$out/.stamp"
for f in "${outputs[@]}"; do mv -f "$work/$f" "$out/$f"; done
echo "$stamp" >"$out/.stamp"

echo "build_test_image: built from $(basename "$kdeb") and $(basename "$bdeb") in $out"
for f in "${outputs[@]}"; do
    printf '  %-40s %10s bytes\n' "$out/$f" "$(stat -c %s "$out/$f")"
done
