// What every part of the disk service shares: its dependencies, and the lookups and checks used by
// disks, snapshots, access and copies alike (resource ids, names, sources).
import type { ResourceGroups } from '../../accounts/resource-groups.js';
import type { BlobApi } from '../../blob/service/api.js';
import type { Logger } from '../../platform/log.js';
import { fail } from './errors.js';
import type { DiskRecord, SnapshotRecord } from './model.js';
import type { Regions } from './regions.js';
import { resourceKey, type DiskSnapshotState, type DiskState } from './state.js';

export interface DiskServiceDeps {
  api: BlobApi;
  state: DiskState;
  regions: Regions;
  groups: ResourceGroups;
  /** `http://host:port` of the blob endpoint (SAS URLs and copy-source URLs point there). */
  blobBase: string;
  logger: Logger;
}

export const DISK_TYPE = 'Microsoft.Compute/disks';
export const SNAPSHOT_TYPE = 'Microsoft.Compute/snapshots';

/** Disk and snapshot names: 1–80 of letters, digits, `_`, `-` (and `.`, which Azure also takes). */
const RESOURCE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$/;
const RESOURCE_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/(disks|snapshots)\/([^/]+)\/?$/i;

export interface ResourceAddress {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export function checkName(name: string, type: string): void {
  if (!RESOURCE_NAME.test(name) || name.endsWith('.')) fail('InvalidResourceName', { name, type });
}

export function diskId(d: ResourceAddress): string {
  return `/subscriptions/${d.subscriptionId}/resourceGroups/${d.resourceGroup}/providers/${DISK_TYPE}/${d.name}`;
}

export function snapshotId(s: ResourceAddress): string {
  return `/subscriptions/${s.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/${SNAPSHOT_TYPE}/${s.name}`;
}

export type SourceResource = { kind: 'disk'; key: string; disk: DiskRecord } | { kind: 'snapshot'; key: string; snapshot: SnapshotRecord };

/** The disk or snapshot a `sourceResourceId` names, in the given state; 404-style failures otherwise. */
export function resolveSource(state: DiskSnapshotState, sourceResourceId: string | undefined): SourceResource {
  if (sourceResourceId === undefined) fail('MissingRequiredParameter', { target: 'creationData.sourceResourceId' });
  const match = RESOURCE_ID.exec(sourceResourceId);
  const [, sub, rg, type, name] = match ?? [];
  if (sub === undefined || rg === undefined || type === undefined || name === undefined) {
    fail('InvalidParameter', { target: 'creationData.sourceResourceId', detail: 'Expected the id of a Microsoft.Compute disk or snapshot.' });
  }
  const key = resourceKey(sub, rg, name);
  if (type.toLowerCase() === 'disks') {
    const disk = state.disks.get(key);
    if (!disk) fail('ResourceNotFound', { type: DISK_TYPE, name, resourceGroup: rg });
    return { kind: 'disk', key, disk };
  }
  const snapshot = state.snapshots.get(key);
  if (!snapshot) fail('ResourceNotFound', { type: SNAPSHOT_TYPE, name, resourceGroup: rg });
  return { kind: 'snapshot', key, snapshot };
}

/** The state key of a disk or snapshot resource id; undefined when it is not one. */
export function keyFromId(id: string): string | undefined {
  const [, sub, rg, , name] = RESOURCE_ID.exec(id) ?? [];
  return sub === undefined || rg === undefined || name === undefined ? undefined : resourceKey(sub, rg, name);
}

/** A snapshot whose data is usable: not a CopyStart still running or failed. */
export function checkSnapshotReady(snapshot: SnapshotRecord): void {
  if (snapshot.copy !== undefined && snapshot.copy.state !== 'succeeded') {
    fail('OperationNotAllowed', { detail: `Snapshot '${snapshot.name}' is not ready: its copy is ${snapshot.copy.state}.` });
  }
}
