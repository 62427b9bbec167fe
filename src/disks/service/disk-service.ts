// DiskService: managed disks and snapshots (Microsoft.Compute/disks, /snapshots), the rules of
// spec/disks-snapshots.md written once; the ARM adapter and the NBD resolver call it.
//
// Disks (§2):  Empty (diskSizeGB) · Upload (uploadSizeBytes → ReadyToUpload; a Write grant →
//              ActiveUpload; revoking finalizes → Unattached) · Copy (from a disk or any snapshot,
//              same region: a branch, bytes shared) · Import (a page blob or blob snapshot URL on
//              this server) · resize (grow only; not while exported or attached) · delete.
// Snapshots:   snapshots.ts (Copy, full / incremental) and copy-start.ts (CopyStart).
// Access (§4): access.ts. Layout of the bytes: model.ts.
//
// Every mutation goes through DiskState.mutate, one at a time; reads answer from its current copy.
// Attachment is in memory: it ends with the process that holds it. Two kinds of holder:
//   - an NBD write session opened by name (a tool such as qemu-io): held until it disconnects;
//   - a VM (attachToVm, called by the compute service when a VM with this OS disk is created or
//     started again after deallocation; the compute service re-attaches after a restart). The VM's
//     hypervisor reaches the disk through the export `vm-attached/<token>`, whose sessions may all
//     write (the old and new QEMU of an in-place update both connect), while every other writer
//     is refused. A VM-attached disk refuses delete (409 OperationNotAllowed "Disk … is attached
//     to VM …", as Azure), grant access and resize, and shows diskState Attached and managedBy.
import type { Tags } from '../../accounts/model.js';
import { BlobError } from '../../blob/errors.js';
import type { Clock } from '../../platform/clock.js';
import { newGuid } from '../../platform/ids.js';
import { grant, isActive, revoke, type AccessRequest, type GrantContext } from './access.js';
import {
  blobTypeOf, branchPageBlob, clearPageBlob, createPageBlob, deleteBlob, dropContainer, resizePageBlob,
} from './blob-io.js';
import { checkName, checkSnapshotReady, DISK_TYPE, keyFromId, resolveSource, SNAPSHOT_TYPE, type DiskServiceDeps, type ResourceAddress } from './context.js';
import { CopyStarts, type CopyOperation } from './copy-start.js';
import { DiskError, fail } from './errors.js';
import { DISK_SKUS, GIB, type BlobLocation, type CreationData, type DiskRecord, type DiskState, type SnapshotRecord } from './model.js';
import type { Region } from './regions.js';
import { buildSnapshot, familyMembers, storedBytesOf, type SnapshotSpec } from './snapshots.js';
import { resourceKey, type DiskSnapshotState } from './state.js';

export type { AccessRequest } from './access.js';
export type { SnapshotSpec } from './snapshots.js';
export type { CopyOperation } from './copy-start.js';

export interface DiskSpec {
  location: string;
  skuName?: string;
  tags?: Tags;
  zones?: string[];
  creationData: CreationData;
  diskSizeGB?: number;
  extras: Record<string, string | number | boolean>;
}

export interface DiskChange {
  diskSizeGB?: number;
  skuName?: string;
  tags?: Tags;
  extras?: Record<string, string | number | boolean>;
}

export interface SnapshotChange {
  skuName?: string;
  tags?: Tags;
}

/** A snapshot as shown: provisioning state and copy progress derived from the record. */
export interface SnapshotStatus {
  provisioningState: 'Succeeded' | 'Updating' | 'Failed';
  completionPercent: number;
  bytesCopied: number;
}

const DISK_SIZE_GB_MAX = 32_767;
const UPLOAD_BYTES_MAX = 32 * 1024 ** 4 + 512;

export class DiskService {
  readonly #copies: CopyStarts;
  /** Disk key → who holds it attached. */
  readonly #attached = new Map<string, Attachment>();

  constructor(
    private readonly deps: DiskServiceDeps,
    private readonly clock: Clock,
  ) {
    this.#copies = new CopyStarts(deps, clock);
    this.#copies.resume();
  }

  regions(): Region[] {
    return this.deps.regions.list();
  }

  // ---- disks ----

  getDisk(subscriptionId: string, resourceGroup: string, name: string): DiskRecord {
    this.deps.groups.get(subscriptionId, resourceGroup);
    const disk = this.deps.state.current.disks.get(resourceKey(subscriptionId, resourceGroup, name));
    if (!disk) fail('ResourceNotFound', { type: DISK_TYPE, name, resourceGroup });
    return disk;
  }

  listDisks(subscriptionId: string, resourceGroup?: string): DiskRecord[] {
    return this.#list([...this.deps.state.current.disks.values()], subscriptionId, resourceGroup);
  }

  diskState(disk: DiskRecord, now: number): DiskState {
    const active = isActive(disk.access, now);
    if (disk.uploading) return active ? 'ActiveUpload' : 'ReadyToUpload';
    if (active) return 'ActiveSAS';
    return this.#attached.has(keyOf(disk)) ? 'Attached' : 'Unattached';
  }

  /** PUT: creates the disk, or (it exists) applies the changes an update may make. */
  async createOrUpdateDisk(at: ResourceAddress, spec: DiskSpec, now: number): Promise<{ disk: DiskRecord; created: boolean }> {
    const group = this.deps.groups.get(at.subscriptionId, at.resourceGroup);
    checkName(at.name, DISK_TYPE);
    const address = { ...at, resourceGroup: group.name };
    const key = resourceKey(at.subscriptionId, at.resourceGroup, at.name);
    if (this.deps.state.current.disks.has(key)) {
      const change: DiskChange = { diskSizeGB: spec.diskSizeGB, skuName: spec.skuName, tags: spec.tags, extras: spec.extras };
      return { disk: await this.updateDisk(at.subscriptionId, at.resourceGroup, at.name, change, now), created: false };
    }
    const region = this.deps.regions.get(spec.location, DISK_TYPE);
    const skuName = diskSku(spec.skuName, region);
    const zones = spec.zones ?? [];
    if (zones.length > 0 && !region.zones) fail('InvalidParameter', { target: 'zones', detail: `Region '${region.name}' has no availability zones.` });
    return this.deps.state.mutate(async (draft) => {
      if (draft.disks.has(key)) fail('Conflict', { detail: `Disk '${at.name}' was created meanwhile.` });
      const uniqueId = newGuid();
      const data: BlobLocation = { account: region.account, container: `d-${uniqueId}`, blob: 'disk' };
      const made = await this.#makeDiskData(draft, data, spec, now);
      const disk: DiskRecord = {
        ...address, location: region.name, tags: spec.tags ?? {}, skuName, uniqueId, createdMs: now,
        creationData: made.creationData, sizeBytes: made.sizeBytes, data, access: null, extras: spec.extras,
        zones, uploading: spec.creationData.createOption === 'Upload', familyId: newGuid(),
      };
      draft.disks.set(key, disk);
      return { disk, created: true };
    });
  }

  /** PATCH: tags, sku, extras; diskSizeGB grows the disk (never shrinks, as in Azure). */
  async updateDisk(subscriptionId: string, resourceGroup: string, name: string, change: DiskChange, now: number): Promise<DiskRecord> {
    this.getDisk(subscriptionId, resourceGroup, name);
    const key = resourceKey(subscriptionId, resourceGroup, name);
    return this.deps.state.mutate(async (draft) => {
      const disk = draft.disks.get(key);
      if (!disk) fail('ResourceNotFound', { type: DISK_TYPE, name, resourceGroup });
      const sizeBytes = await this.#resize(disk, change.diskSizeGB, now);
      const region = this.deps.regions.get(disk.location, DISK_TYPE);
      const next: DiskRecord = {
        ...disk, sizeBytes, tags: change.tags ?? disk.tags, extras: { ...disk.extras, ...change.extras },
        skuName: change.skuName === undefined ? disk.skuName : diskSku(change.skuName, region),
      };
      draft.disks.set(key, next);
      return next;
    });
  }

  /** DELETE: false when there was none. Incremental snapshots of the disk stay valid. */
  async deleteDisk(subscriptionId: string, resourceGroup: string, name: string, now: number): Promise<boolean> {
    this.deps.groups.get(subscriptionId, resourceGroup);
    const key = resourceKey(subscriptionId, resourceGroup, name);
    const holder = this.#attached.get(key);
    if (holder) fail('OperationNotAllowed', { detail: `Disk ${name} is attached to ${describe(holder)} and cannot be deleted.` });
    return this.deps.state.mutate(async (draft) => {
      const disk = draft.disks.get(key);
      if (!disk) return false;
      await revoke(this.#grantContext(now), disk);
      draft.disks.delete(key);
      // The disk's page blob anchors the lineage its incremental snapshots are views of: while any
      // exists, the blob stays, cleared (it costs nothing), and goes with the last snapshot.
      if (containerInUse(draft, disk.data)) await clearPageBlob(this.deps.api, disk.data, disk.sizeBytes, now);
      else await dropContainer(this.deps.api, disk.data.account, disk.data.container, now);
      return true;
    });
  }

  async grantDiskAccess(subscriptionId: string, resourceGroup: string, name: string, request: AccessRequest, now: number): Promise<string> {
    const key = resourceKey(subscriptionId, resourceGroup, name);
    this.getDisk(subscriptionId, resourceGroup, name);
    return this.deps.state.mutate(async (draft) => {
      const disk = draft.disks.get(key);
      if (!disk) fail('ResourceNotFound', { type: DISK_TYPE, name, resourceGroup });
      if (this.#attached.has(key)) fail('OperationNotAllowed', { detail: `Disk '${name}' is attached; detach it before exporting.` });
      if (request.access === 'Write' && !disk.uploading) fail('OperationNotAllowed', { detail: 'Write access is only for disks created with createOption Upload.' });
      if (request.access === 'Read' && disk.uploading) fail('OperationNotAllowed', { detail: `Disk '${name}' is waiting for its upload; grant Write access to upload.` });
      const result = await grant(this.#grantContext(now), draft, disk, request);
      draft.disks.set(key, { ...disk, access: result.grant });
      return result.sasUrl;
    });
  }

  async revokeDiskAccess(subscriptionId: string, resourceGroup: string, name: string, now: number): Promise<void> {
    const key = resourceKey(subscriptionId, resourceGroup, name);
    this.getDisk(subscriptionId, resourceGroup, name);
    await this.deps.state.mutate(async (draft) => {
      const disk = draft.disks.get(key);
      if (!disk) fail('ResourceNotFound', { type: DISK_TYPE, name, resourceGroup });
      await revoke(this.#grantContext(now), disk);
      const finalized = disk.uploading && disk.access?.mode === 'Write';
      draft.disks.set(key, { ...disk, access: null, uploading: disk.uploading && !finalized });
    });
  }

  // ---- snapshots ----

  getSnapshot(subscriptionId: string, resourceGroup: string, name: string): SnapshotRecord {
    this.deps.groups.get(subscriptionId, resourceGroup);
    const snapshot = this.deps.state.current.snapshots.get(resourceKey(subscriptionId, resourceGroup, name));
    if (!snapshot) fail('ResourceNotFound', { type: SNAPSHOT_TYPE, name, resourceGroup });
    return snapshot;
  }

  listSnapshots(subscriptionId: string, resourceGroup?: string): SnapshotRecord[] {
    return this.#list([...this.deps.state.current.snapshots.values()], subscriptionId, resourceGroup);
  }

  snapshotStatus(snapshot: SnapshotRecord): SnapshotStatus {
    const { percent, bytesCopied } = this.#copies.progressOf(resourceKey(snapshot.subscriptionId, snapshot.resourceGroup, snapshot.name), snapshot);
    const state = snapshot.copy?.state;
    const provisioningState = state === 'running' ? 'Updating' : state === 'failed' ? 'Failed' : 'Succeeded';
    return { provisioningState, completionPercent: percent, bytesCopied };
  }

  snapshotState(snapshot: SnapshotRecord, now: number): DiskState {
    return isActive(snapshot.access, now) ? 'ActiveSAS' : 'Unattached';
  }

  /**
   * PUT: creates the snapshot (Copy: done before this returns; CopyStart: `operationId` names the
   * background copy), or (it exists) updates tags and sku.
   */
  async createOrUpdateSnapshot(at: ResourceAddress, spec: SnapshotSpec, now: number): Promise<{ snapshot: SnapshotRecord; created: boolean; operationId?: string }> {
    const group = this.deps.groups.get(at.subscriptionId, at.resourceGroup);
    checkName(at.name, SNAPSHOT_TYPE);
    const address = { ...at, resourceGroup: group.name };
    const key = resourceKey(at.subscriptionId, at.resourceGroup, at.name);
    if (this.deps.state.current.snapshots.has(key)) {
      return { snapshot: await this.updateSnapshot(at.subscriptionId, at.resourceGroup, at.name, { skuName: spec.skuName, tags: spec.tags }), created: false };
    }
    const region = this.deps.regions.get(spec.location, SNAPSHOT_TYPE);
    const copyStart = spec.creationData.createOption === 'CopyStart';
    const snapshot = await this.deps.state.mutate(async (draft) => {
      if (draft.snapshots.has(key)) fail('Conflict', { detail: `Snapshot '${at.name}' was created meanwhile.` });
      const record = copyStart
        ? this.#copies.begin(draft, address, spec, region, now)
        : await buildSnapshot({ api: this.deps.api, blobBase: this.deps.blobBase, region, now }, draft, address, spec);
      draft.snapshots.set(key, record);
      return record;
    });
    return copyStart ? { snapshot, created: true, operationId: this.#copies.start(key) } : { snapshot, created: true };
  }

  async updateSnapshot(subscriptionId: string, resourceGroup: string, name: string, change: SnapshotChange): Promise<SnapshotRecord> {
    this.getSnapshot(subscriptionId, resourceGroup, name);
    const key = resourceKey(subscriptionId, resourceGroup, name);
    return this.deps.state.mutate(async (draft) => {
      const snapshot = draft.snapshots.get(key);
      if (!snapshot) fail('ResourceNotFound', { type: SNAPSHOT_TYPE, name, resourceGroup });
      const next = { ...snapshot, tags: change.tags ?? snapshot.tags, skuName: change.skuName ?? snapshot.skuName };
      draft.snapshots.set(key, next);
      return next;
    });
  }

  /** DELETE: false when there was none. Other snapshots of the family stay valid (and diffable). */
  async deleteSnapshot(subscriptionId: string, resourceGroup: string, name: string, now: number): Promise<boolean> {
    this.deps.groups.get(subscriptionId, resourceGroup);
    const key = resourceKey(subscriptionId, resourceGroup, name);
    return this.deps.state.mutate(async (draft) => {
      const snapshot = draft.snapshots.get(key);
      if (!snapshot) return false;
      await revoke(this.#grantContext(now), snapshot);
      draft.snapshots.delete(key);
      if (!snapshot.incremental) {
        await dropContainer(this.deps.api, snapshot.data.account, snapshot.data.container, now);
        return true;
      }
      if (snapshot.data.snapshot !== undefined) await deleteBlob(this.deps.api, snapshot.data, now);
      await this.#restateSuccessor(draft, snapshot, now);
      if (!containerInUse(draft, snapshot.data)) await dropContainer(this.deps.api, snapshot.data.account, snapshot.data.container, now);
      return true;
    });
  }

  async grantSnapshotAccess(subscriptionId: string, resourceGroup: string, name: string, request: AccessRequest, now: number): Promise<string> {
    const key = resourceKey(subscriptionId, resourceGroup, name);
    this.getSnapshot(subscriptionId, resourceGroup, name);
    return this.deps.state.mutate(async (draft) => {
      const snapshot = draft.snapshots.get(key);
      if (!snapshot) fail('ResourceNotFound', { type: SNAPSHOT_TYPE, name, resourceGroup });
      if (request.access !== 'Read') fail('InvalidParameter', { target: 'access', detail: 'Snapshots can only be exported for Read.' });
      checkSnapshotReady(snapshot);
      const result = await grant(this.#grantContext(now), draft, snapshot, request);
      draft.snapshots.set(key, { ...snapshot, access: result.grant });
      return result.sasUrl;
    });
  }

  async revokeSnapshotAccess(subscriptionId: string, resourceGroup: string, name: string, now: number): Promise<void> {
    const key = resourceKey(subscriptionId, resourceGroup, name);
    this.getSnapshot(subscriptionId, resourceGroup, name);
    await this.deps.state.mutate(async (draft) => {
      const snapshot = draft.snapshots.get(key);
      if (!snapshot) fail('ResourceNotFound', { type: SNAPSHOT_TYPE, name, resourceGroup });
      await revoke(this.#grantContext(now), snapshot);
      draft.snapshots.set(key, { ...snapshot, access: null });
    });
  }

  copyOperation(operationId: string): CopyOperation | undefined {
    return this.#copies.operation(operationId);
  }

  /** Waits until every CopyStart in flight has finished (tests, bench). */
  settleCopies(): Promise<void> {
    return this.#copies.settle();
  }

  // ---- attachment (NBD sessions and VMs) ----

  /** Marks a disk attached for writing by an NBD session; false when someone else holds it or it is exported. */
  tryAttach(disk: DiskRecord, holder: string, now: number): boolean {
    const key = keyOf(disk);
    if (this.#attached.has(key) || disk.uploading || isActive(disk.access, now)) return false;
    this.#attached.set(key, { kind: 'nbd', holder });
    return true;
  }

  /** Ends an NBD session's attachment (a VM's is ended by detachFromVm only). */
  detach(disk: DiskRecord): void {
    const key = keyOf(disk);
    if (this.#attached.get(key)?.kind === 'nbd') this.#attached.delete(key);
  }

  /**
   * Attaches the disk `diskId` (a resource id) to the VM `vmId` (its resource id) for writing and
   * returns the NBD export name its hypervisor opens. Idempotent for the same VM. Refused (409
   * OperationNotAllowed) while another VM or an NBD writer holds the disk, it is exported (active
   * SAS) or waiting for its upload; 404 when there is no such disk.
   */
  attachToVm(diskId: string, vmId: string, now: number): { exportName: string; disk: DiskRecord } {
    const key = keyFromId(diskId);
    if (key === undefined) {
      fail('InvalidParameter', { target: 'properties.storageProfile.osDisk.managedDisk.id', detail: `'${diskId}' is not the id of a Microsoft.Compute disk.` });
    }
    const disk = this.deps.state.current.disks.get(key);
    if (!disk) {
      const parts = diskId.split('/');
      fail('ResourceNotFound', { type: DISK_TYPE, name: parts.at(-1) ?? diskId, resourceGroup: parts[4] ?? '' });
    }
    const held = this.#attached.get(key);
    if (held?.kind === 'vm' && held.vmId.toLowerCase() === vmId.toLowerCase()) return { exportName: vmExportName(held.token), disk };
    if (held) fail('OperationNotAllowed', { detail: `Disk ${disk.name} is attached to ${describe(held)}.` });
    if (disk.uploading) fail('OperationNotAllowed', { detail: `Disk ${disk.name} is waiting for its upload and cannot be attached.` });
    if (isActive(disk.access, now)) fail('OperationNotAllowed', { detail: `Disk ${disk.name} is exported (active SAS); revoke access before attaching it.` });
    const token = newGuid();
    this.#attached.set(key, { kind: 'vm', vmId, token });
    return { exportName: vmExportName(token), disk };
  }

  /** Ends the VM's attachment of the disk (VM deleted or deallocated); a disk held by anyone else is left alone. */
  detachFromVm(diskId: string, vmId: string): void {
    const key = keyFromId(diskId);
    const held = key === undefined ? undefined : this.#attached.get(key);
    if (key !== undefined && held?.kind === 'vm' && held.vmId.toLowerCase() === vmId.toLowerCase()) this.#attached.delete(key);
  }

  /** The VM (resource id) a disk is attached to: ARM's `managedBy`. */
  managedBy(disk: DiskRecord): string | undefined {
    const held = this.#attached.get(keyOf(disk));
    return held?.kind === 'vm' ? held.vmId : undefined;
  }

  /** The disk behind a VM attachment's export name (`vm-attached/<token>`), while that attachment lasts. */
  findVmAttachment(exportName: string): DiskRecord | undefined {
    if (!exportName.startsWith(VM_EXPORT_PREFIX)) return undefined;
    const token = exportName.slice(VM_EXPORT_PREFIX.length);
    for (const [key, held] of this.#attached) {
      if (held.kind === 'vm' && held.token === token) return this.deps.state.current.disks.get(key);
    }
    return undefined;
  }

  /** Every disk's resource id (NBD export list). */
  allDiskIds(): string[] {
    return [...this.deps.state.current.disks.values()].map((d) => `/subscriptions/${d.subscriptionId}/resourceGroups/${d.resourceGroup}/providers/${DISK_TYPE}/${d.name}`);
  }

  /** A disk or snapshot by its uniqueId or its resource id (with or without the leading `/`). */
  findByExportName(name: string): { kind: 'disk'; disk: DiskRecord } | { kind: 'snapshot'; snapshot: SnapshotRecord } | undefined {
    const { disks, snapshots } = this.deps.state.current;
    const key = keyFromId(name.startsWith('/') ? name : `/${name}`);
    const disk = (key && disks.get(key)) || [...disks.values()].find((d) => d.uniqueId === name);
    if (disk) return { kind: 'disk', disk };
    const snapshot = (key && snapshots.get(key)) || [...snapshots.values()].find((s) => s.uniqueId === name);
    return snapshot ? { kind: 'snapshot', snapshot } : undefined;
  }

  // ---- helpers ----

  async #makeDiskData(draft: DiskSnapshotState, data: BlobLocation, spec: DiskSpec, now: number): Promise<{ sizeBytes: number; creationData: CreationData }> {
    const { creationData } = spec;
    switch (creationData.createOption) {
      case 'Empty': {
        const sizeBytes = gibBytes(spec.diskSizeGB, true);
        await createPageBlob(this.deps.api, data, sizeBytes, now);
        return { sizeBytes, creationData };
      }
      case 'Upload': {
        const sizeBytes = uploadBytes(creationData.uploadSizeBytes);
        await createPageBlob(this.deps.api, data, sizeBytes, now);
        return { sizeBytes, creationData };
      }
      case 'Copy': {
        const source = resolveSource(draft, creationData.sourceResourceId);
        const record = source.kind === 'disk' ? source.disk : source.snapshot;
        if (this.deps.regions.byAccount(data.account)?.name.toLowerCase() !== record.location.toLowerCase()) {
          fail('InvalidParameter', { target: 'location', detail: `The source is in '${record.location}'; copy its snapshot there with CopyStart first.` });
        }
        if (source.kind === 'snapshot') checkSnapshotReady(source.snapshot);
        if (source.kind === 'disk' && source.disk.uploading) fail('OperationNotAllowed', { detail: `Disk '${source.disk.name}' is waiting for its upload.` });
        const sizeBytes = await this.#branchSized(data, record.data, spec.diskSizeGB, now);
        return { sizeBytes, creationData: { ...creationData, sourceUniqueId: record.uniqueId } };
      }
      case 'Import': {
        const source = importSource(creationData.sourceUri);
        const type = await blobTypeOf(this.deps.api, source, now).catch((error: unknown) => importFailed(error, creationData.sourceUri));
        if (type !== 'PageBlob') fail('InvalidParameter', { target: 'creationData.sourceUri', detail: 'Import needs a page blob (a fixed VHD).' });
        return { sizeBytes: await this.#branchSized(data, source, spec.diskSizeGB, now), creationData };
      }
      default:
        return fail('InvalidParameter', {
          target: 'creationData.createOption',
          detail: `Disks are created with Empty, Upload, Copy or Import in Nimbus (CopyStart copies snapshots; Restore needs Azure Backup), not ${creationData.createOption}.`,
        });
    }
  }

  /** Branch of the source, grown to diskSizeGB when that is larger. */
  async #branchSized(data: BlobLocation, source: BlobLocation, diskSizeGB: number | undefined, now: number): Promise<number> {
    const sizeBytes = await branchPageBlob(this.deps.api, data, source, this.deps.blobBase, now);
    const wanted = diskSizeGB === undefined ? sizeBytes : gibBytes(diskSizeGB, false);
    if (wanted < sizeBytes) fail('InvalidParameter', { target: 'diskSizeGB', detail: `The disk cannot be smaller than its source (${sizeBytes} bytes).` });
    if (wanted > sizeBytes) await resizePageBlob(this.deps.api, data, wanted, now);
    return wanted;
  }

  async #resize(disk: DiskRecord, diskSizeGB: number | undefined, now: number): Promise<number> {
    if (diskSizeGB === undefined) return disk.sizeBytes;
    const sizeBytes = gibBytes(diskSizeGB, false);
    if (sizeBytes === disk.sizeBytes) return sizeBytes;
    if (sizeBytes < disk.sizeBytes) fail('InvalidParameter', { target: 'diskSizeGB', detail: `Disk size can only be increased (now ${Math.ceil(disk.sizeBytes / GIB)} GiB).` });
    if (disk.uploading || isActive(disk.access, now) || this.#attached.has(keyOf(disk))) {
      fail('OperationNotAllowed', { detail: `Disk '${disk.name}' cannot be resized while it is attached, exported or uploading.` });
    }
    await resizePageBlob(this.deps.api, disk.data, sizeBytes, now);
    return sizeBytes;
  }

  /** After a family member is deleted, the next one in its region holds what the deleted one did. */
  async #restateSuccessor(draft: DiskSnapshotState, deleted: SnapshotRecord, now: number): Promise<void> {
    if (deleted.familyId === undefined) return;
    const members = familyMembers(draft, deleted.familyId, deleted.location);
    const next = members.find((s) => (s.familyOrder ?? '') > (deleted.familyOrder ?? '') && s.data.snapshot !== undefined);
    if (!next?.familyOrder) return;
    const previous = members.filter((s) => (s.familyOrder ?? '') < (next.familyOrder ?? '') && s.data.snapshot !== undefined).at(-1);
    const storedBytes = await storedBytesOf(this.deps.api, next.data, previous, now);
    draft.snapshots.set(keyOf(next), { ...next, storedBytes });
  }

  #grantContext(now: number): GrantContext {
    return { api: this.deps.api, regions: this.deps.regions, blobBase: this.deps.blobBase, now };
  }

  #list<T extends DiskRecord | SnapshotRecord>(records: T[], subscriptionId: string, resourceGroup: string | undefined): T[] {
    if (resourceGroup !== undefined) this.deps.groups.get(subscriptionId, resourceGroup);
    const sub = subscriptionId.toLowerCase();
    const rg = resourceGroup?.toLowerCase();
    return records
      .filter((r) => r.subscriptionId.toLowerCase() === sub && (rg === undefined || r.resourceGroup.toLowerCase() === rg))
      .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
  }
}

/** Export names of VM attachments: `vm-attached/<token>`, a token minted per attachment. */
export const VM_EXPORT_PREFIX = 'vm-attached/';
const vmExportName = (token: string): string => `${VM_EXPORT_PREFIX}${token}`;

type Attachment = { kind: 'nbd'; holder: string } | { kind: 'vm'; vmId: string; token: string };

function describe(held: Attachment): string {
  return held.kind === 'vm' ? `VM ${held.vmId}` : `an NBD writer (${held.holder})`;
}

function keyOf(r: ResourceAddress): string {
  return resourceKey(r.subscriptionId, r.resourceGroup, r.name);
}

/** Whether any disk or snapshot still reads from this container. */
function containerInUse(state: DiskSnapshotState, data: BlobLocation): boolean {
  const same = (d: BlobLocation) => d.account === data.account && d.container === data.container;
  return [...state.disks.values()].some((d) => same(d.data)) || [...state.snapshots.values()].some((s) => same(s.data))
    || [...state.bases.values()].some((b) => same(b.data));
}

function diskSku(requested: string | undefined, region: Region): string {
  const name = requested ?? 'Standard_LRS';
  const known = DISK_SKUS.find((s) => s.toLowerCase() === name.toLowerCase());
  if (!known) fail('InvalidParameter', { target: 'sku.name', detail: `Supported: ${DISK_SKUS.join(', ')}.` });
  if (known.endsWith('_ZRS') && !region.zones) fail('InvalidParameter', { target: 'sku.name', detail: `Zone-redundant disks need a region with availability zones; '${region.name}' has none.` });
  return known;
}

function gibBytes(diskSizeGB: number | undefined, required: boolean): number {
  if (diskSizeGB === undefined) {
    if (required) fail('MissingRequiredParameter', { target: 'diskSizeGB' });
    return 0;
  }
  if (!Number.isInteger(diskSizeGB) || diskSizeGB < 1 || diskSizeGB > DISK_SIZE_GB_MAX) {
    fail('InvalidParameter', { target: 'diskSizeGB', detail: `Expected a whole number of GiB from 1 to ${DISK_SIZE_GB_MAX}.` });
  }
  return diskSizeGB * GIB;
}

function uploadBytes(uploadSizeBytes: number | undefined): number {
  if (uploadSizeBytes === undefined) fail('MissingRequiredParameter', { target: 'creationData.uploadSizeBytes' });
  if (!Number.isSafeInteger(uploadSizeBytes) || uploadSizeBytes < 512 || uploadSizeBytes % 512 !== 0 || uploadSizeBytes > UPLOAD_BYTES_MAX) {
    fail('InvalidParameter', { target: 'creationData.uploadSizeBytes', detail: `Expected a multiple of 512 bytes up to ${UPLOAD_BYTES_MAX}.` });
  }
  return uploadSizeBytes;
}

/** `http://host:port/account/container/blob[?snapshot=…]` (path style) → where the page blob is. */
function importSource(sourceUri: string | undefined): BlobLocation {
  if (sourceUri === undefined) fail('MissingRequiredParameter', { target: 'creationData.sourceUri' });
  let url: URL;
  try {
    url = new URL(sourceUri);
  } catch {
    return fail('InvalidParameter', { target: 'creationData.sourceUri', detail: 'Not a URL.' });
  }
  const [account, container, ...blob] = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  if (account === undefined || container === undefined || blob.length === 0) {
    fail('InvalidParameter', { target: 'creationData.sourceUri', detail: 'Expected http://<host>/<account>/<container>/<blob> on this Nimbus blob endpoint.' });
  }
  const snapshot = url.searchParams.get('snapshot');
  return snapshot === null ? { account, container, blob: blob.join('/') } : { account, container, blob: blob.join('/'), snapshot };
}

function importFailed(error: unknown, sourceUri: string | undefined): never {
  if (error instanceof BlobError || error instanceof DiskError) {
    fail('InvalidParameter', { target: 'creationData.sourceUri', detail: `The source blob '${sourceUri ?? ''}' cannot be read (${error.code}).` });
  }
  throw error;
}
