// Snapshots (Microsoft.Compute/snapshots, spec/disks-snapshots.md §3, §5): full and incremental.
//
//   incremental  a blob snapshot of the disk's page blob: O(1) (a frozen view), reads as the whole
//                disk, stores only the pages written since the previous snapshot of the disk (its
//                `storedBytes`, what Azure bills). All of one disk's share incrementalSnapshotFamilyId
//                and its lineage, so any two of them diff.
//   full         a branch of the source (disk, or any snapshot): its own page blob and lineage,
//                bytes shared; billed (and reported) at its full used size.
//
// SKU of an incremental snapshot: always Standard HDD — the explicit one if given, else the previous
// snapshot's of the family, else ZRS where the region has zones and LRS elsewhere.
import type { BlobApi } from '../../blob/service/api.js';
import { newGuid } from '../../platform/ids.js';
import type { Tags } from '../../accounts/model.js';
import { branchPageBlob, bytesIn, diffRanges, snapshotPageBlob, validRanges } from './blob-io.js';
import { checkSnapshotReady, resolveSource, type ResourceAddress } from './context.js';
import { fail } from './errors.js';
import type { CreationData, SnapshotRecord } from './model.js';
import type { Region } from './regions.js';
import type { DiskSnapshotState } from './state.js';

export interface SnapshotSpec {
  location: string;
  skuName?: string;
  tags?: Tags;
  incremental: boolean;
  creationData: CreationData;
  diskSizeGB?: number;
  extras: Record<string, string | number | boolean>;
}

export interface SnapshotBuild {
  api: BlobApi;
  blobBase: string;
  region: Region;
  now: number;
}

/** Incremental snapshots of one family in one region, oldest first. */
export function familyMembers(state: DiskSnapshotState, familyId: string, region: string): SnapshotRecord[] {
  return [...state.snapshots.values()]
    .filter((s) => s.incremental && s.familyId === familyId && s.location.toLowerCase() === region.toLowerCase())
    .sort((a, b) => (a.familyOrder ?? '').localeCompare(b.familyOrder ?? ''));
}

/** The snapshot just before `order` in its family and region that holds data (a finished copy). */
export function predecessor(state: DiskSnapshotState, familyId: string, region: string, order: string): SnapshotRecord | undefined {
  return familyMembers(state, familyId, region)
    .filter((s) => (s.familyOrder ?? '') < order && s.data.snapshot !== undefined && (s.copy === undefined || s.copy.state === 'succeeded'))
    .at(-1);
}

/** Copy (from a disk or snapshot) or Import: a snapshot whose data exists when this returns. */
export async function buildSnapshot(
  b: SnapshotBuild, state: DiskSnapshotState, at: ResourceAddress, spec: SnapshotSpec,
): Promise<SnapshotRecord> {
  const { createOption } = spec.creationData;
  if (createOption !== 'Copy') fail('InvalidParameter', { target: 'creationData.createOption', detail: `Snapshots are created with Copy or CopyStart, not ${createOption}.` });
  const source = resolveSource(state, spec.creationData.sourceResourceId);
  const sourceRecord = source.kind === 'disk' ? source.disk : source.snapshot;
  if (sourceRecord.location.toLowerCase() !== b.region.name.toLowerCase()) {
    fail('InvalidParameter', { target: 'location', detail: `The source is in '${sourceRecord.location}'; copy it to another region with createOption CopyStart.` });
  }
  if (source.kind === 'snapshot') checkSnapshotReady(source.snapshot);
  if (source.kind === 'disk' && source.disk.uploading) fail('OperationNotAllowed', { detail: `Disk '${source.disk.name}' is still waiting for its upload.` });
  const uniqueId = newGuid();
  const common = {
    ...at, location: b.region.name, tags: spec.tags ?? {}, uniqueId, createdMs: b.now,
    creationData: { ...spec.creationData, sourceUniqueId: sourceRecord.uniqueId }, access: null, extras: spec.extras,
  };
  if (spec.incremental) {
    if (source.kind !== 'disk') fail('InvalidParameter', { target: 'incremental', detail: 'An incremental snapshot is taken of a managed disk (or copied with CopyStart).' });
    const disk = source.disk;
    const snapshot = await snapshotPageBlob(b.api, disk.data, b.now);
    const data = { ...disk.data, snapshot };
    const previous = predecessor(state, disk.familyId, b.region.name, snapshot);
    const storedBytes = await storedBytesOf(b.api, data, previous, b.now);
    const skuName = incrementalSku(spec.skuName, previous, b.region);
    return { ...common, skuName, sizeBytes: disk.sizeBytes, data, incremental: true, familyId: disk.familyId, familyOrder: snapshot, storedBytes };
  }
  const data = { account: b.region.account, container: `s-${uniqueId}`, blob: 'snapshot' };
  const sizeBytes = await branchPageBlob(b.api, data, sourceRecord.data, b.blobBase, b.now);
  const storedBytes = bytesIn(await validRanges(b.api, data, b.now));
  return { ...common, skuName: fullSku(spec.skuName), sizeBytes, data, incremental: false, storedBytes };
}

/** What a family member stores beyond its predecessor: the written pages of the diff (or all, first). */
export async function storedBytesOf(api: BlobApi, data: SnapshotRecord['data'], previous: SnapshotRecord | undefined, now: number): Promise<number> {
  const older = previous?.data.snapshot;
  if (older === undefined || previous?.data.container !== data.container) return bytesIn(await validRanges(api, data, now));
  return bytesIn((await diffRanges(api, data, older, now)).written);
}

export function incrementalSku(requested: string | undefined, previous: SnapshotRecord | undefined, region: Region): string {
  if (requested !== undefined) {
    if (requested !== 'Standard_LRS' && requested !== 'Standard_ZRS') {
      fail('InvalidParameter', { target: 'sku.name', detail: 'Incremental snapshots are stored on Standard HDD: Standard_LRS or Standard_ZRS.' });
    }
    return requested;
  }
  return previous?.skuName ?? (region.zones ? 'Standard_ZRS' : 'Standard_LRS');
}

function fullSku(requested: string | undefined): string {
  const sku = requested ?? 'Standard_LRS';
  if (sku !== 'Standard_LRS' && sku !== 'Standard_ZRS' && sku !== 'Premium_LRS') {
    fail('InvalidParameter', { target: 'sku.name', detail: 'Expected Standard_LRS, Standard_ZRS or Premium_LRS.' });
  }
  return sku;
}
