#!/bin/busybox sh
# Stage 1: PID 1 in the initramfs (see xtask/src/vm/mod.rs).
#
# The initramfs is the kernel's `rootfs`, which can never be unmounted or
# moved, so `pivot_root` fails there with EINVAL — and the labs' containers
# pivot_root. So this stage only loads the modules, builds the real root as
# a tmpfs, mounts the host's shares into it and switch_roots (which empties
# the initramfs and chroots; no pivot_root needed) into stage 2.
/bin/busybox --install -s /bin
export PATH=/bin

say() { echo "dockyard-vm: $*"; }
# The host reads the reason on the console; isa-debug-exit is not written,
# so qemu's exit status says the guest did not finish.
fail() {
    say "FAILED: $*"
    poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# In the order the host computed from modules.dep: virtio_pci before the
# 9p transport, which binds to a virtio PCI device.
while read -r module; do
    insmod "/modules/$module" || fail "insmod $module"
done </modules/order

mkdir -p /newroot
mount -t tmpfs -o mode=0755 root /newroot || fail "tmpfs root"
mkdir -p /newroot/.vm/run
# 9p2000.L carries Linux's modes and owners; a large msize makes reads of
# test binaries and libraries over the virtio ring fast.
p9="trans=virtio,version=9p2000.L,msize=262144"
mount -t 9p -o "$p9" run /newroot/.vm/run || fail "mount the run share"

# The host's plan: `share TAG ro|rw PATH` (a 9p share at the same path as on
# the host, so absolute paths compiled into the test binaries work) and
# `link PATH TARGET` (merged-/usr links: /bin -> usr/bin).
while read -r kind a b c; do
    case "$kind" in
    share)
        mkdir -p "/newroot$c"
        if [ "$b" = ro ]; then opts="$p9,ro,cache=loose"; else opts="$p9"; fi
        mount -t 9p -o "$opts" "$a" "/newroot$c" || fail "mount share $a at $c"
        ;;
    link)
        ln -s "$b" "/newroot$a" || fail "link $a"
        ;;
    esac
done </newroot/.vm/run/plan

cp /bin/busybox /newroot/.vm/busybox
cp /stage2 /newroot/.vm/stage2
umount /proc /sys /dev
exec switch_root /newroot /.vm/busybox sh /.vm/stage2
