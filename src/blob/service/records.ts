// How blob-service state is kept in the engine's generic records.
//   container → bucket (scope = account), attrs = ContainerAttrs
//   blob      → entry (sub = CURRENT_SUB, tag = TAG_CURRENT), attrs = BlobAttrs, content = block list
// Snapshots and versions (next step) become further entries of the same name with their own
// sub keys, sorting before CURRENT_SUB so a listing shows them oldest first, then the base blob.
import type { EntryRecord, Json, JsonObject } from '../../engine/meta/meta-store.js';
import { leaseView } from './leases.js';
import type { BlobHttpHeaders, BlobType, BlobView, ContainerView, CopyState, Lease, Metadata, PublicAccess, SignedIdentifier } from './model.js';

export const CURRENT_SUB = '~';
export const TAG_CURRENT = 0;

export interface ContainerAttrs {
  etag: string;
  lastModifiedMs: number;
  metadata: Metadata;
  publicAccess: PublicAccess | null;
  lease: Lease;
  acl: SignedIdentifier[];
}

export interface BlobAttrs {
  blobType: BlobType;
  etag: string;
  lastModifiedMs: number;
  createdMs: number;
  headers: BlobHttpHeaders;
  metadata: Metadata;
  lease: Lease;
  copy: CopyState | null;
}

// The engine stores attrs as JSON; these casts are the one place the shapes are asserted.
export const toJson = (value: ContainerAttrs | BlobAttrs): JsonObject => value as unknown as JsonObject;
export const containerAttrs = (attrs: JsonObject): ContainerAttrs => attrs as unknown as ContainerAttrs;
export const blobAttrs = (attrs: JsonObject): BlobAttrs => attrs as unknown as BlobAttrs;
export const asJson = (value: unknown): Json => value as Json;

export function containerView(name: string, attrs: ContainerAttrs, now: number): ContainerView {
  return {
    name,
    etag: attrs.etag,
    lastModifiedMs: attrs.lastModifiedMs,
    metadata: attrs.metadata,
    publicAccess: attrs.publicAccess,
    lease: leaseView(attrs.lease, now),
  };
}

export function blobView(entry: EntryRecord, now: number): BlobView {
  const attrs = blobAttrs(entry.attrs);
  return {
    name: entry.name,
    blobType: attrs.blobType,
    sizeBytes: entry.sizeBytes,
    etag: attrs.etag,
    lastModifiedMs: attrs.lastModifiedMs,
    createdMs: attrs.createdMs,
    headers: attrs.headers,
    metadata: attrs.metadata,
    lease: leaseView(attrs.lease, now),
    copy: attrs.copy,
  };
}
