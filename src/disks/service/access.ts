// Grant / revoke access (beginGetAccess / endGetAccess, spec/disks-snapshots.md §4): a SAS URL of the
// page blob (or blob snapshot) that holds a disk or snapshot, on the blob endpoint.
//
// Revocation must make an issued SAS fail at once, so the SAS carries no permissions or expiry of its
// own: it names a stored access policy (`si`) on the data's container, which holds them. Revoking
// deletes the policy → the next request with that SAS is 403 AuthenticationFailed. A container holds
// at most 5 policies — the same number as Azure's limit of 5 active SAS per snapshot family (a disk
// and its incremental snapshots share one container).
//
//   Read   sp=r   disks, snapshots      diskState ActiveSAS while granted
//   Write  sp=rw  Upload disks only     ReadyToUpload → ActiveUpload; revoking finalizes → Unattached
import type { BlobApi } from '../../blob/service/api.js';
import { signServiceSas } from '../../azure-wire/sas-sign.js';
import { randomHex } from '../../platform/ids.js';
import { addPolicy, blobUrl, removePolicy } from './blob-io.js';
import { fail } from './errors.js';
import type { AccessGrant, BlobLocation, DiskRecord, SnapshotRecord } from './model.js';
import type { Regions } from './regions.js';
import type { DiskSnapshotState } from './state.js';

export interface AccessRequest {
  access: 'Read' | 'Write';
  durationInSeconds: number;
}

const POLICIES_PER_CONTAINER_MAX = 5;
const DURATION_SECONDS_MAX = 30 * 86_400;

export interface GrantContext {
  api: BlobApi;
  regions: Regions;
  blobBase: string;
  now: number;
}

/** Adds the stored policy and returns the grant and its SAS URL; the caller stores the grant. */
export async function grant(
  ctx: GrantContext, state: DiskSnapshotState, resource: DiskRecord | SnapshotRecord, request: AccessRequest,
): Promise<{ grant: AccessGrant; sasUrl: string }> {
  checkDuration(request.durationInSeconds);
  const data = resource.data;
  if (resource.access !== null) await removePolicy(ctx.api, data.account, data.container, resource.access.policyId, ctx.now);
  const active = activeGrantsIn(state, data.container, ctx.now).filter((r) => r !== resource);
  if (active.length >= POLICIES_PER_CONTAINER_MAX) {
    fail('OperationNotAllowed', { detail: `At most ${POLICIES_PER_CONTAINER_MAX} disks or snapshots of one family can have an active SAS at a time; revoke one first.` });
  }
  const policyId = `nimbus-${randomHex(8)}`;
  const expiresMs = ctx.now + request.durationInSeconds * 1000;
  await addPolicy(ctx.api, data.account, data.container, { id: policyId, expiryMs: expiresMs, permissions: request.access === 'Write' ? 'rw' : 'r' }, ctx.now);
  return { grant: { mode: request.access, policyId, expiresMs }, sasUrl: sasUrlOf(ctx, data, policyId) };
}

export async function revoke(ctx: GrantContext, resource: DiskRecord | SnapshotRecord): Promise<void> {
  if (resource.access === null) return;
  await removePolicy(ctx.api, resource.data.account, resource.data.container, resource.access.policyId, ctx.now);
}

export function isActive(grantOrNull: AccessGrant | null, now: number): boolean {
  return grantOrNull !== null && grantOrNull.expiresMs > now;
}

function sasUrlOf(ctx: GrantContext, data: BlobLocation, policyId: string): string {
  const region = ctx.regions.byAccount(data.account);
  if (!region) fail('OperationNotAllowed', { detail: 'Only data in a Nimbus region can be exported.' });
  const sas = signServiceSas({
    accountName: data.account, accountKey: region.key, container: data.container, blob: data.blob, snapshot: data.snapshot, identifier: policyId,
  });
  const url = blobUrl(ctx.blobBase, data);
  return `${url}${data.snapshot === undefined ? '?' : '&'}${sas}`;
}

function activeGrantsIn(state: DiskSnapshotState, container: string, now: number): Array<DiskRecord | SnapshotRecord> {
  const all = [...state.disks.values(), ...state.snapshots.values()];
  return all.filter((r) => r.data.container === container && isActive(r.access, now));
}

function checkDuration(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds <= 0 || seconds > DURATION_SECONDS_MAX) {
    fail('InvalidParameter', { target: 'durationInSeconds', detail: `Expected an integer from 1 to ${DURATION_SECONDS_MAX}.` });
  }
}
