// The QEMU command line for one generation of one VM (generation = how many in-place updates it
// has had). Both sides of an in-place update get the same machine; only the sockets (per
// generation, so the old and new process never fight over a path) and `-incoming defer` differ.
//
//   guest RAM   memory-backend-file under /dev/shm, share=on: the old and new QEMU map the same
//               pages, and migration with x-ignore-shared moves only device state (~300 KB).
//   ttyS0       console  -> chardev file, append=on (`-serial file:` would be truncated by the new QEMU)
//   ttyS1       heartbeat-> chardev file, append=on
//   ttyS2       qemu-ga  -> unix socket (server), reconnected after each update
//   eth0        slirp on 169.254.0.0/16, restrict=on; 169.254.169.254:80 -> `busybox nc 127.0.0.1 <imdsPort>`
//               (one relay per guest connection; the per-VM port tells IMDS which VM asks)
//   vda…        each VmSpec disk: `-blockdev driver=nbd` (unix socket or TCP, cache.direct=on, the recipe
//               measured in compute-notes §3) under a virtio-blk-pci device. Both generations open
//               the same export: the replacement connects while the old QEMU still runs, and
//               only activates (writes) after the handover; the disk service lets every session
//               of the VM's attachment write (src/disks/nbd/disk-exports.ts).
//   -S          start paused on both sides so every `cont` is explicit.
import path from 'node:path';
import type { DiskAttachment, VmSpec } from '../driver.js';

export interface QemuLayout {
  readonly runDir: string;
  readonly memPath: string;
  readonly consolePath: string;
  readonly heartbeatPath: string;
}

export const qmpPath = (layout: QemuLayout, generation: number): string => path.join(layout.runDir, `qmp-${generation}.sock`);
export const qgaPath = (layout: QemuLayout, generation: number): string => path.join(layout.runDir, `qga-${generation}.sock`);
export const migratePath = (layout: QemuLayout, generation: number): string => path.join(layout.runDir, `migrate-${generation}.sock`);

export interface KernelBoot {
  readonly kernelPath: string;
  readonly initrdPath: string;
  readonly cmdline: string;
}

export function qemuArgs(options: {
  spec: VmSpec;
  kernel: KernelBoot;
  layout: QemuLayout;
  generation: number;
  incoming: boolean;
  accel: string;
}): string[] {
  const { spec, kernel, layout, generation } = options;
  const memory = `${spec.memoryMiB}M`;
  return [
    '-name', spec.vmId,
    '-accel', options.accel,
    '-nodefaults', '-no-user-config', '-display', 'none', '-S', '-no-reboot',
    '-machine', 'pc,memory-backend=ram0',
    '-m', memory,
    '-smp', String(spec.cpus),
    '-object', `memory-backend-file,id=ram0,size=${memory},mem-path=${layout.memPath},share=on`,
    '-kernel', kernel.kernelPath,
    '-initrd', kernel.initrdPath,
    '-append', kernel.cmdline,
    '-chardev', `file,id=con0,path=${layout.consolePath},append=on`,
    '-serial', 'chardev:con0',
    '-chardev', `file,id=hb0,path=${layout.heartbeatPath},append=on`,
    '-serial', 'chardev:hb0',
    '-chardev', `socket,id=qga0,path=${qgaPath(layout, generation)},server=on,wait=off`,
    '-serial', 'chardev:qga0',
    '-netdev', netdev(spec.imdsPort),
    '-device', 'virtio-net-pci,netdev=n0',
    ...spec.disks.flatMap((disk, i) => ['-blockdev', nbdBlockdev(disk, `disk${i}`), '-device', `virtio-blk-pci,drive=disk${i}`]),
    '-qmp', `unix:${qmpPath(layout, generation)},server=on,wait=off`,
    ...(options.incoming ? ['-incoming', 'defer'] : []),
  ];
}

/** `-blockdev` for one NBD disk; commas in values are doubled (QEMU's option escaping). */
export function nbdBlockdev(disk: DiskAttachment, nodeName: string): string {
  const q = (value: string) => value.replaceAll(',', ',,');
  const server = disk.server.type === 'unix'
    ? `server.type=unix,server.path=${q(disk.server.path)}`
    : `server.type=inet,server.host=${q(disk.server.host)},server.port=${disk.server.port}`;
  return `driver=nbd,node-name=${nodeName},${server},export=${q(disk.exportName)},cache.direct=on`;
}

function netdev(imdsPort: number | undefined): string {
  const base = 'user,id=n0,net=169.254.0.0/16,host=169.254.0.2,dhcpstart=169.254.0.15,restrict=on';
  return imdsPort === undefined ? base : `${base},guestfwd=tcp:169.254.169.254:80-cmd:busybox nc 127.0.0.1 ${imdsPort}`;
}
