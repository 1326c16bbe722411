#!/.vm/busybox sh
# Stage 2: PID 1 on the tmpfs root. Makes the guest look like a plain pure
# cgroup-v2 host, runs the host's /.vm/run/run.sh, reports, powers off.
B=/.vm/busybox
say() { echo "dockyard-vm: $*"; }

# A setup failure ends the run: the host sees no isa-debug-exit and shows
# this line from the console.
must() { "$@" || { say "FAILED: $*"; $B poweroff -f; }; }

must $B mkdir -p /proc /sys /dev /tmp /run /etc /root
must $B mount -t proc proc /proc
must $B mount -t sysfs sysfs /sys
must $B mount -t devtmpfs devtmpfs /dev
must $B mkdir -p /dev/pts /dev/shm
must $B mount -t devpts devpts /dev/pts
must $B mount -t tmpfs -o mode=1777 shm /dev/shm
# /tmp, where the checks make their temp dirs, is ext4 on a RAM disk, as
# Debian 12's /tmp is on its disk: tmpfs takes user.* xattrs only since
# Linux 6.6, and a rootless overlay (userxattr) keeps its whiteouts and
# opaque marks in user.overlay.* on its upper. tmpfs if that fails.
if [ -b /dev/ram0 ] && PATH=/usr/sbin:/sbin:/usr/bin:/bin mkfs.ext4 -q -F -O ^has_journal -E nodiscard /dev/ram0 >/dev/null 2>&1 &&
    $B mount -t ext4 /dev/ram0 /tmp; then
    must $B chmod 1777 /tmp
else
    say "no ext4 RAM disk for /tmp; tmpfs (no user.* xattrs before Linux 6.6)"
    must $B mount -t tmpfs -o mode=1777 tmp /tmp
fi
must $B mount -t tmpfs -o mode=0755 run /run
must $B mkdir -p /run/lock
# `cgroup_no_v1=all` is on the command line: this is the only hierarchy.
must $B mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup
# As systemd does on a v2 host: every controller available to children of
# the root (the checks run in the root cgroup, which is exempt from the
# no-internal-processes rule).
for c in $($B cat /sys/fs/cgroup/cgroup.controllers); do
    echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || say "cannot enable the $c controller"
done

echo 'root:x:0:0:root:/root:/bin/sh' >/etc/passwd
echo 'root:x:0:' >/etc/group
echo dockyard-vm >/etc/hostname
$B hostname dockyard-vm
$B ip link set lo up

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TMPDIR=/tmp
say "up: $($B uname -r), cgroup controllers: $($B cat /sys/fs/cgroup/cgroup.subtree_control)"
cd / && $B sh /.vm/run/run.sh
say "done $?"
$B sync
# isa-debug-exit (iobase 0xf4): qemu exits with (1 << 1) | 1 = 3, which
# tells the host that the guest got here.
printf '\001' | $B dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
$B poweroff -f
