// The disk service's side of the NBD server (src/disks/nbd/exports.ts): export name → the page
// object of a disk (read-write) or the frozen view of a snapshot (read-only).
//
// Export names: a disk's or snapshot's ARM resource id (with or without the leading `/`, compared
// case-insensitively) or its uniqueId; `ro/<name>` opens read-only (the server strips the prefix).
//   nbd://127.0.0.1:10809/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/disks/<disk>
//
// One writer per disk, across every name it has: this resolver holds the lock (writerLock
// 'resolver') through DiskService.tryAttach, so a disk written over NBD shows diskState Attached and
// refuses grant access, resize and delete until the session ends; a disk being uploaded or exported
// refuses an NBD writer. Writes land in the disk's page object, so incremental snapshots and diffs
// capture exactly what the client wrote.
//
// A VM's attachment (DiskService.attachToVm) has its own export name, `vm-attached/<token>`: the
// attachment already holds the disk, so every session opened with that name may write (during an
// in-place update the replacement QEMU connects before the old one leaves; it writes only after the
// handover), and ending a session does not detach (the VM's delete or deallocation does).
import type { MetaStore } from '../../engine/meta/meta-store.js';
import type { PageSource } from '../../engine/pages/page-store.js';
import { pageSourceOf } from '../../blob/service/page-blobs.js';
import { CURRENT_SUB, snapshotSub } from '../../blob/service/records.js';
import type { Clock } from '../../platform/clock.js';
import type { NbdExports, NbdMode, NbdOpenResult } from './exports.js';
import type { DiskService } from '../service/disk-service.js';
import type { BlobLocation } from '../service/model.js';

export class DiskNbdExports implements NbdExports {
  readonly writerLock = 'resolver' as const;

  constructor(
    private readonly disks: DiskService,
    private readonly meta: MetaStore,
    private readonly clock: Clock,
  ) {}

  async open(name: string, mode: NbdMode): Promise<NbdOpenResult> {
    const attachedDisk = this.disks.findVmAttachment(name);
    if (attachedDisk !== undefined) {
      const source = await this.#sourceOf(attachedDisk.data);
      return source === undefined ? undefined : { source, sizeBytes: attachedDisk.sizeBytes, release: () => undefined };
    }
    const found = this.disks.findByExportName(name);
    if (found === undefined) return undefined;
    const record = found.kind === 'disk' ? found.disk : found.snapshot;
    const source = await this.#sourceOf(record.data);
    if (source === undefined) return undefined;
    if (found.kind === 'snapshot' || mode === 'read') {
      return { source, sizeBytes: record.sizeBytes, release: () => undefined };
    }
    if (!this.disks.tryAttach(found.disk, `nbd:${name}`, this.clock.nowMs())) {
      return { refused: 'busy', reason: `disk ${found.disk.name} is attached, exported or waiting for an upload` };
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.disks.detach(found.disk);
    };
    return { source, sizeBytes: record.sizeBytes, release };
  }

  async list(): Promise<string[]> {
    return this.disks.allDiskIds();
  }

  async #sourceOf(data: BlobLocation): Promise<PageSource | undefined> {
    return this.meta.read(async (tx) => {
      const bucket = await tx.getBucket(data.account, data.container);
      if (!bucket) return undefined;
      const entry = await tx.getEntry(bucket.bucketId, data.blob, data.snapshot === undefined ? CURRENT_SUB : snapshotSub(data.snapshot));
      if (!entry || (entry.pageObject == null && entry.pageView == null)) return undefined;
      return pageSourceOf(entry);
    });
  }
}
