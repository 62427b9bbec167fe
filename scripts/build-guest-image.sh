#!/usr/bin/env bash
# Builds the Nimbus test guest from Debian packages: a kernel and a busybox initramfs with
# qemu-guest-agent and a small guest agent. Used by the `qemu` hypervisor driver's tests and bench.
#
#   scripts/build-guest-image.sh [OUT_DIR]      default: $NIMBUS_GUEST_DIR or <repo>/.nimbus-cache/guest
#
# Output: OUT_DIR/vmlinuz, OUT_DIR/initrd.img (gzip'd newc cpio), OUT_DIR/manifest.json.
# Idempotent: a stamp made of this script's hash and the input package versions is kept in the
# manifest; a second run with the same inputs does nothing. A lock serialises concurrent runs.
#
# Inputs (no network except Debian packages through apt-get):
#   kernel        /boot/vmlinuz-<ver> + /lib/modules/<ver> when installed (linux-image-amd64);
#                 otherwise the linux-image-<ver> .deb is downloaded with `apt-get download` and only
#                 vmlinuz and the few modules below are extracted (no host kernel install needed;
#                 NIMBUS_GUEST_KERNEL_SOURCE=deb forces this path).
#   busybox       /bin/busybox from busybox-static (installed by .ci/run).
#   qemu-ga       `apt-get download qemu-guest-agent`, unpacked with dpkg-deb, plus the shared
#                 libraries `ldd` names (glib, pcre2, libudev, liburing, libnuma, libc): Debian has
#                 no static build. See shared/spec/compute-notes.md §1.
#
# The guest (all in RAM, no disk):
#   ttyS0  console: boot messages and the agent's lines ("nimbus: ...").
#   ttyS1  heartbeat: "hb <counter> <uptime>" every ~100 ms.
#   ttyS2  qemu-ga (isa-serial), used for guest-set-time / guest-get-time / guest-exec.
#   eth0   virtio-net on slirp 169.254.0.0/16; the guest is 169.254.0.15, gateway 169.254.0.2;
#          IMDS at 169.254.169.254:80 is forwarded by QEMU's guestfwd to a per-VM host port.
#   /mem   a ramfs holding nimbus.mem_mib MiB of random bytes; its md5 is printed at boot
#          ("nimbus: memory-region md5=<hex> mib=<n>") so the host can check it survives updates.
#   /dev/vda the OS disk, when the VM has one (virtio-blk on the disk's NBD export; module virtio_blk):
#          /bin/nimbus-disk writes, every ~250 ms with fsync, record n as a 4 KiB block
#          "nimbus-rec n=<n> vm=<name>" at 2 MiB + ((n-1) % 512) * 4 KiB, then the marker block
#          "nimbus-disk n=<n> vm=<name>" at 1 MiB (blocks space-padded, newline-terminated). n goes on
#          from the marker found at boot. Console: "nimbus: disk ready dev=/dev/vda start=<n>".
#          (src/compute/hypervisor/qemu/guest-image.ts GUEST_DISK_LAYOUT says the same for tests.)
#   Scheduled Events: when booted with nimbus.imds=1 the agent polls
#   /metadata/scheduledevents?api-version=2020-07-01 every second and approves each Scheduled
#   event that names this VM (nimbus.vm=<name>) with a POST {"StartRequests":[{"EventId":...}]}.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-${NIMBUS_GUEST_DIR:-$REPO/.nimbus-cache/guest}}"
# Load order matters (insmod has no dependency resolution): virtio_ring exports what virtio needs.
# virtio_blk gives the guest its OS disk (/dev/vda).
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net virtio_blk)

log() { echo "build-guest-image: $*" >&2; }
die() { log "error: $*"; exit 1; }

command -v busybox >/dev/null || [ -x /bin/busybox ] || die "busybox missing: apt-get install busybox-static"
BUSYBOX="$(command -v busybox || echo /bin/busybox)"
# (no `grep -q` or `head` after a pipe anywhere: with pipefail, the writer's SIGPIPE would fail the script)
{ ldd "$BUSYBOX" 2>&1 || true; } | grep 'not a dynamic' >/dev/null \
  || die "$BUSYBOX is not static: apt-get install busybox-static"

mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9

# --- choose the kernel ---------------------------------------------------------------------
KVER=""
[ "${NIMBUS_GUEST_KERNEL_SOURCE:-}" = deb ] && NO_INSTALLED_KERNEL=1   # force the .deb path (testing it)
for k in /boot/vmlinuz-*-amd64; do
  [ -e "$k" ] || continue
  v="${k#/boot/vmlinuz-}"
  [ -d "/lib/modules/$v/kernel" ] && [ -z "${NO_INSTALLED_KERNEL:-}" ] && KVER="$v"
done
if [ -n "$KVER" ]; then
  KSRC="installed"
else
  KPKG="$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | sed -n 1p)"
  [ -n "$KPKG" ] || die "no kernel in /boot and apt-cache cannot resolve linux-image-amd64 (run apt-get update)"
  KVER="${KPKG#linux-image-}"
  KSRC="deb"
fi
QGA_VERSION="$(apt-cache policy qemu-guest-agent 2>/dev/null | sed -n 's/^ *Candidate: //p')"
[ -n "$QGA_VERSION" ] && [ "$QGA_VERSION" != "(none)" ] || die "apt-cache knows no qemu-guest-agent (run apt-get update)"
BB_VERSION="$("$BUSYBOX" 2>&1 | sed -n 1p)"
STAMP="$( (sha256sum "$0" | cut -d' ' -f1; echo "$KVER $QGA_VERSION $BB_VERSION") | sha256sum | cut -c1-16)"

if [ -f "$OUT/manifest.json" ] && grep -q "\"stamp\": \"$STAMP\"" "$OUT/manifest.json" \
   && [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ]; then
  log "up to date ($OUT, stamp $STAMP)"
  exit 0
fi

SECONDS=0
WORK="$(mktemp -d "${TMPDIR:-/tmp}/nimbus-guest.XXXXXX")"
DEBS="$WORK/debs"
chmod 755 "$WORK" && mkdir -p "$DEBS" && chmod 777 "$DEBS"   # apt's _apt user writes the downloads (no "unsandboxed" warning)
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/root"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,mem,var,lib/modules}
ln -s ../run "$ROOT/var/run"

# --- kernel and modules --------------------------------------------------------------------
if [ "$KSRC" = installed ]; then
  cp "/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
  MODROOT="/lib/modules/$KVER"
else
  log "downloading $KPKG (no kernel installed)"
  (cd "$DEBS" && apt-get download -q "$KPKG" >/dev/null)
  mkdir -p "$WORK/kx"
  patterns=("./boot/vmlinuz-$KVER")
  for m in "${MODULES[@]}"; do patterns+=("*/$m.ko"); done
  dpkg-deb --fsys-tarfile "$DEBS"/linux-image-*.deb | tar -x -C "$WORK/kx" --wildcards "${patterns[@]}"
  cp "$WORK/kx/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
  MODROOT="$WORK/kx/lib/modules/$KVER"
fi
: > "$ROOT/etc/modules"
for m in "${MODULES[@]}"; do
  f="$(find "$MODROOT/kernel" -name "$m.ko" -print -quit)"
  [ -n "$f" ] || die "module $m.ko not found under $MODROOT"
  cp "$f" "$ROOT/lib/modules/"
  echo "$m" >> "$ROOT/etc/modules"
done

# --- busybox -------------------------------------------------------------------------------
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$BUSYBOX" --list-full); do
  [ -e "$ROOT/$applet" ] || ln -s /bin/busybox "$ROOT/$applet"
done

# --- qemu-guest-agent and its libraries ----------------------------------------------------
(cd "$DEBS" && apt-get download -q qemu-guest-agent >/dev/null)
mkdir -p "$WORK/qga"
dpkg-deb -x "$DEBS"/qemu-guest-agent_*.deb "$WORK/qga"
cp "$WORK/qga/usr/sbin/qemu-ga" "$ROOT/usr/sbin/qemu-ga"
missing="$(ldd "$ROOT/usr/sbin/qemu-ga" | grep 'not found' || true)"
[ -z "$missing" ] || die "qemu-ga needs libraries this machine lacks (apt-get install qemu-system-x86 brings them): $missing"
for lib in $(ldd "$ROOT/usr/sbin/qemu-ga" | grep -o '/[^ ]*'); do
  mkdir -p "$ROOT$(dirname "$lib")"
  cp -L "$lib" "$ROOT$lib"
done

# --- init and the guest agent --------------------------------------------------------------
cat > "$ROOT/init" <<'EOF'
#!/bin/sh
# Nimbus test guest init (generated by scripts/build-guest-image.sh).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko 2>/dev/null; done
arg() { sed -n "s/.*nimbus\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
VM="$(arg vm)"; MEM_MIB="$(arg mem_mib)"; IMDS="$(arg imds)"
[ -n "$VM" ] && hostname "$VM"
echo "$VM" > /etc/vmname
ip link set lo up
if ip link set eth0 up 2>/dev/null; then
  ip addr add 169.254.0.15/16 dev eth0
  ip route add default via 169.254.0.2
fi
# The memory region: random bytes in RAM whose checksum must survive every update.
mount -t ramfs ramfs /mem
dd if=/dev/urandom of=/mem/blob bs=1048576 count="${MEM_MIB:-16}" 2>/dev/null
echo "nimbus: memory-region md5=$(md5sum /mem/blob | cut -d' ' -f1) mib=${MEM_MIB:-16}" > /dev/console
/usr/sbin/qemu-ga -m isa-serial -p /dev/ttyS2 -t /run >/dev/null 2>&1 &
/bin/nimbus-heartbeat </dev/null >/dev/null 2>&1 &
/bin/nimbus-disk </dev/null >/dev/console 2>&1 &
[ "$IMDS" = 1 ] && /bin/nimbus-events </dev/null >/dev/console 2>&1 &
echo "nimbus: ready vm=$VM" > /dev/console
while :; do sleep 3600; done
EOF

cat > "$ROOT/bin/nimbus-heartbeat" <<'EOF'
#!/bin/sh
# One line every ~100 ms on ttyS1; the counter must keep increasing across every update.
stty -F /dev/ttyS1 raw -echo 2>/dev/null
n=0
exec > /dev/ttyS1
while :; do
  n=$((n + 1))
  read up idle < /proc/uptime
  echo "hb $n $up"
  sleep 0.1
done
EOF

cat > "$ROOT/bin/nimbus-events" <<'EOF'
#!/bin/sh
# Polls IMDS Scheduled Events and approves every Scheduled event naming this VM.
# Events are split one per line on "},{" — enough for the flat JSON IMDS serves.
# (busybox wget -T segfaults in 1.35, so no timeout flag.)
URL='http://169.254.169.254/metadata/scheduledevents?api-version=2020-07-01'
VM="$(cat /etc/vmname)"
last=""
touch /run/approved
while :; do
  doc="$(wget -q -O - --header 'Metadata: true' "$URL" 2>/dev/null)"
  if [ -n "$doc" ]; then
    inc="$(echo "$doc" | sed -n 's/.*"DocumentIncarnation" *: *\([0-9]*\).*/\1/p')"
    [ "$inc" != "$last" ] && echo "nimbus: events incarnation=$inc" && last="$inc"
    echo "$doc" | sed 's/},{/}\n{/g' | while read -r ev; do
      id="$(echo "$ev" | sed -n 's/.*"EventId" *: *"\([^"]*\)".*/\1/p')"
      [ -n "$id" ] || continue
      case "$ev" in *'"EventStatus":"Scheduled"'*|*'"EventStatus": "Scheduled"'*) ;; *) continue ;; esac
      case "$ev" in *"\"$VM\""*) ;; *) continue ;; esac
      grep -qx "$id" /run/approved && continue
      if wget -q -O /dev/null --header 'Metadata: true' --header 'Content-Type: application/json' \
           --post-data "{\"StartRequests\":[{\"EventId\":\"$id\"}]}" "$URL" 2>/dev/null; then
        echo "$id" >> /run/approved
        echo "nimbus: approved event=$id"
      fi
    done
  fi
  sleep 1
done
EOF
cat > "$ROOT/bin/nimbus-disk" <<'EOF'
#!/bin/sh
# Writes to the OS disk, if the VM has one, so the host can check guest writes in the disk service
# (layout in the header of scripts/build-guest-image.sh). Exits quietly when no disk appears.
DEV=/dev/vda
i=0
while [ ! -b $DEV ]; do
  i=$((i + 1))
  [ $i -gt 30 ] && exit 0
  sleep 0.1
done
VM="$(cat /etc/vmname)"
n="$(dd if=$DEV bs=4096 skip=256 count=1 2>/dev/null | sed -n 's/^nimbus-disk n=\([0-9]*\) .*/\1/p')"
n="${n:-0}"
echo "nimbus: disk ready dev=$DEV start=$n"
block() { printf '%-4095s\n' "$1" | dd of=$DEV bs=4096 seek="$2" count=1 iflag=fullblock conv=notrunc,fsync 2>/dev/null; }
while :; do
  n=$((n + 1))
  block "nimbus-rec n=$n vm=$VM" $((512 + (n - 1) % 512)) || echo "nimbus: disk write failed n=$n"
  block "nimbus-disk n=$n vm=$VM" 256 || echo "nimbus: disk write failed n=$n"
  sleep 0.25
done
EOF
chmod +x "$ROOT/init" "$ROOT/bin/nimbus-heartbeat" "$ROOT/bin/nimbus-events" "$ROOT/bin/nimbus-disk"

# --- pack ----------------------------------------------------------------------------------
(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1 > "$WORK/initrd.img")
mv "$WORK/vmlinuz" "$OUT/vmlinuz.tmp" && mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
mv "$WORK/initrd.img" "$OUT/initrd.img.tmp" && mv "$OUT/initrd.img.tmp" "$OUT/initrd.img"
cat > "$OUT/manifest.json" <<EOF
{
  "format": 2,
  "stamp": "$STAMP",
  "kernel": "$KVER",
  "kernelSource": "$KSRC",
  "qemuGuestAgent": "$QGA_VERSION",
  "busybox": "$BB_VERSION",
  "initrdBytes": $(stat -c %s "$OUT/initrd.img"),
  "modules": "$(echo "${MODULES[@]}")"
}
EOF
log "built $OUT (kernel $KVER from $KSRC, initrd $(stat -c %s "$OUT/initrd.img") bytes, ${SECONDS}s)"
