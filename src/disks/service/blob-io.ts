// The disk service's use of the blob service: disks and snapshots are page blobs in a region's
// internal account (model.ts draws the layout), so everything here is a Blob API call in disk terms.
// Nothing here writes bytes it did not read from a page blob: copies are branches (shared bytes,
// O(ranges)) inside a region, and Put Page From URL chunks (≤ 4 MiB) across regions.
import { BlobError } from '../../blob/errors.js';
import type { BlobApi, PageRange } from '../../blob/service/api.js';
import type { BlobRef, BlobSelector } from '../../blob/service/model.js';
import type { BlobLocation } from './model.js';

export const PUT_PAGE_BYTES_MAX = 4 * 1024 * 1024;

export interface PageDiffResult {
  written: PageRange[];
  cleared: PageRange[];
}

export const refOf = (loc: BlobLocation): BlobRef => ({ account: loc.account, container: loc.container, blob: loc.blob });
const selectorOf = (loc: BlobLocation): BlobSelector | undefined => (loc.snapshot === undefined ? undefined : { snapshot: loc.snapshot });

/** `http://host:port/account/container/blob[?snapshot=…]`, names encoded as the SDKs encode them. */
export function blobUrl(blobBase: string, loc: BlobLocation): string {
  const path = `${blobBase}/${encodeURIComponent(loc.account)}/${encodeURIComponent(loc.container)}/${loc.blob.split('/').map(encodeURIComponent).join('/')}`;
  return loc.snapshot === undefined ? path : `${path}?snapshot=${encodeURIComponent(loc.snapshot)}`;
}

export async function ensureContainer(api: BlobApi, account: string, container: string, now: number): Promise<void> {
  try {
    await api.createContainer({ account, container }, { metadata: {}, publicAccess: null }, now);
  } catch (error) {
    if (!(error instanceof BlobError && error.code === 'ContainerAlreadyExists')) throw error;
  }
}

export async function dropContainer(api: BlobApi, account: string, container: string, now: number): Promise<void> {
  try {
    await api.deleteContainer({ account, container }, { conditions: {} }, now);
  } catch (error) {
    if (!(error instanceof BlobError && error.code === 'ContainerNotFound')) throw error;
  }
}

export async function createPageBlob(api: BlobApi, loc: BlobLocation, sizeBytes: number, now: number): Promise<void> {
  await ensureContainer(api, loc.account, loc.container, now);
  await api.createPageBlob(refOf(loc), { sizeBytes, headers: {}, metadata: {}, conditions: {} }, now);
}

/** A new page blob with the source's content: a branch (new lineage, bytes shared). */
export async function branchPageBlob(api: BlobApi, target: BlobLocation, source: BlobLocation, blobBase: string, now: number): Promise<number> {
  await ensureContainer(api, target.account, target.container, now);
  const copySource = { ref: refOf(source), selector: selectorOf(source), url: blobUrl(blobBase, source), conditions: {} };
  await api.copyBlob(refOf(target), copySource, { conditions: {}, sync: true }, now);
  return sizeOf(api, target, now);
}

export async function sizeOf(api: BlobApi, loc: BlobLocation, now: number): Promise<number> {
  const view = await api.getBlobProperties(refOf(loc), { conditions: {}, selector: selectorOf(loc) }, now);
  return view.sizeBytes;
}

export async function blobTypeOf(api: BlobApi, loc: BlobLocation, now: number): Promise<string> {
  return (await api.getBlobProperties(refOf(loc), { conditions: {}, selector: selectorOf(loc) }, now)).blobType;
}

export async function snapshotPageBlob(api: BlobApi, loc: BlobLocation, now: number): Promise<string> {
  return (await api.snapshotBlob(refOf(loc), { conditions: {} }, now)).snapshot;
}

export async function resizePageBlob(api: BlobApi, loc: BlobLocation, sizeBytes: number, now: number): Promise<void> {
  await api.resizePageBlob(refOf(loc), sizeBytes, { conditions: {} }, now);
}

/** Clears every page: what is left of a deleted disk whose incremental snapshots live on. */
export async function clearPageBlob(api: BlobApi, loc: BlobLocation, sizeBytes: number, now: number): Promise<void> {
  if (sizeBytes > 0) await api.clearPages(refOf(loc), { start: 0, end: sizeBytes }, { conditions: {} }, now);
}

export async function deleteBlob(api: BlobApi, loc: BlobLocation, now: number): Promise<void> {
  try {
    const selector = selectorOf(loc);
    await api.deleteBlob(refOf(loc), selector ? { conditions: {}, selector } : { conditions: {}, deleteSnapshots: 'include' }, now);
  } catch (error) {
    if (!(error instanceof BlobError && (error.code === 'BlobNotFound' || error.code === 'ContainerNotFound'))) throw error;
  }
}

/** Every valid (written) range of the blob or snapshot, coalesced. */
export async function validRanges(api: BlobApi, loc: BlobLocation, now: number): Promise<PageRange[]> {
  return (await api.getPageRanges(refOf(loc), { selector: selectorOf(loc), conditions: {} }, now)).ranges;
}

/** What changed from the older snapshot to `newer` (a later snapshot of the same blob, or the blob). */
export async function diffRanges(api: BlobApi, newer: BlobLocation, olderSnapshot: string, now: number): Promise<PageDiffResult> {
  const result = await api.getPageRanges(refOf(newer), { selector: selectorOf(newer), previous: { snapshot: olderSnapshot }, conditions: {} }, now);
  return { written: result.ranges, cleared: result.cleared };
}

export const bytesIn = (ranges: readonly PageRange[]): number => ranges.reduce((sum, r) => sum + r.end - r.start, 0);

/** Ranges cut into Put Page sized pieces (≤ 4 MiB each), in order. */
export function chunked(ranges: readonly PageRange[], chunkBytes = PUT_PAGE_BYTES_MAX): PageRange[] {
  const chunks: PageRange[] = [];
  for (const r of ranges) {
    for (let start = r.start; start < r.end; start += chunkBytes) chunks.push({ start, end: Math.min(r.end, start + chunkBytes) });
  }
  return chunks;
}

/** Copies one range of `source` into the same range of `target` (Put Page From URL, server side). */
export async function copyRange(api: BlobApi, target: BlobLocation, source: BlobLocation, range: PageRange, blobBase: string, now: number): Promise<void> {
  const copySource = {
    ref: refOf(source), selector: selectorOf(source), url: blobUrl(blobBase, source), conditions: {},
    range: { start: range.start, end: range.end - 1 },
  };
  await api.putPagesFromUrl(refOf(target), range, copySource, { conditions: {} }, now);
}

export async function clearRange(api: BlobApi, target: BlobLocation, range: PageRange, now: number): Promise<void> {
  await api.clearPages(refOf(target), range, { conditions: {} }, now);
}

/** Container ACL edits: the stored access policies that back (and revoke) grant-access SAS. */
export async function addPolicy(api: BlobApi, account: string, container: string, policy: { id: string; expiryMs: number; permissions: string }, now: number): Promise<void> {
  const ref = { account, container };
  const { identifiers } = await api.getContainerAcl(ref, {}, now);
  await api.setContainerAcl(ref, { publicAccess: null, identifiers: [...identifiers.filter((i) => i.id !== policy.id && (i.expiryMs ?? Infinity) > now), policy], conditions: {} }, now);
}

export async function removePolicy(api: BlobApi, account: string, container: string, id: string, now: number): Promise<void> {
  const ref = { account, container };
  try {
    const { identifiers } = await api.getContainerAcl(ref, {}, now);
    await api.setContainerAcl(ref, { publicAccess: null, identifiers: identifiers.filter((i) => i.id !== id), conditions: {} }, now);
  } catch (error) {
    if (!(error instanceof BlobError && error.code === 'ContainerNotFound')) throw error;
  }
}
