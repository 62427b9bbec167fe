// Containers and account-level operations: create, delete, properties, metadata, ACL, lease,
// List Containers, blob service properties. https://learn.microsoft.com/rest/api/storageservices/operations-on-containers
import type { BucketRecord, MetaReader, MetaStore, MetaWriter } from '../../engine/meta/meta-store.js';
import type { EtagSource } from '../../platform/ids.js';
import { fail } from '../errors.js';
import { checkConditions } from './conditions.js';
import { applyLeaseAction, checkReadLease, checkWriteLease } from './leases.js';
import { checkContainerName, checkMetadata } from './names.js';
import { containerAttrs, containerView, remainingDays, toJson, asJson, type ContainerAttrs } from './records.js';
import type {
  Conditions, ContainerRef, ContainerView, LeaseAction, LeaseResult, ListContainersRequest, ListContainersResult,
  Metadata, PublicAccess, ServiceProperties, SignedIdentifier, WriteResult, DataProtection, DataProtectionChange,
} from './model.js';

const SERVICE_PROPERTIES_KEY = 'blobServiceProperties';
const DATA_PROTECTION_KEY = 'dataProtection';

/**
 * Back to "never set" (the settings API has no delete; null reads as unset): service properties and
 * the data-protection switches.
 */
export async function resetAccountSettings(tx: MetaWriter, account: string): Promise<void> {
  for (const key of [SERVICE_PROPERTIES_KEY, DATA_PROTECTION_KEY]) await tx.putSetting(account, key, null);
}

export interface ContainerDeps {
  meta: MetaStore;
  etags: EtagSource;
}

export async function findContainer(tx: MetaReader, ref: ContainerRef): Promise<BucketRecord> {
  const bucket = await tx.getBucket(ref.account, ref.container);
  if (!bucket) fail('ContainerNotFound');
  return bucket;
}

export class Containers {
  constructor(private readonly deps: ContainerDeps) {}

  async getServiceProperties(account: string): Promise<ServiceProperties> {
    return this.deps.meta.read(async (tx) => {
      const stored = ((await tx.getSetting(account, SERVICE_PROPERTIES_KEY)) ?? {}) as ServiceProperties;
      const { deleteRetention } = await readDataProtection(tx, account);
      return { ...stored, deleteRetentionPolicy: deleteRetention.enabled ? deleteRetention : { enabled: false } };
    });
  }

  async setServiceProperties(account: string, change: ServiceProperties): Promise<void> {
    const retention = change.deleteRetentionPolicy;
    if (retention?.enabled) checkRetentionDays(retention.days);
    await this.deps.meta.write(async (tx) => {
      const current = ((await tx.getSetting(account, SERVICE_PROPERTIES_KEY)) ?? {}) as ServiceProperties;
      const merged: ServiceProperties = { ...current };
      for (const [key, value] of Object.entries(change)) {
        if (value !== undefined && key !== 'deleteRetentionPolicy') Object.assign(merged, { [key]: value });
      }
      await tx.putSetting(account, SERVICE_PROPERTIES_KEY, asJson(merged));
      if (retention) await writeDataProtection(tx, account, { deleteRetention: retention });
    });
  }

  async getDataProtection(account: string): Promise<DataProtection> {
    return this.deps.meta.read((tx) => readDataProtection(tx, account));
  }

  async setDataProtection(account: string, change: DataProtectionChange): Promise<DataProtection> {
    if (change.deleteRetention?.enabled) checkRetentionDays(change.deleteRetention.days);
    if (change.containerDeleteRetention?.enabled) checkRetentionDays(change.containerDeleteRetention.days);
    return this.deps.meta.write((tx) => writeDataProtection(tx, account, change));
  }

  async listContainers(account: string, request: ListContainersRequest, now: number): Promise<ListContainersResult> {
    // A live container and deleted ones may share a name; the marker holds (name, bucket id).
    const [afterName, afterId] = request.marker ? splitMarker(decodeMarker(request.marker)) : [undefined, 0];
    const deleted = request.includeDeleted === true;
    const limit = request.maxResults + 1;
    const buckets = await this.deps.meta.read(async (tx) => {
      const sameName = afterName === undefined ? [] : (await tx.listBuckets(account, { prefix: afterName, deleted, limit: 1000 }))
        .filter((b) => b.name === afterName && b.bucketId > afterId);
      const later = await tx.listBuckets(account, { prefix: request.prefix, afterName, deleted, limit });
      return [...sameName, ...later];
    });
    const page = buckets.slice(0, request.maxResults);
    const last = page[page.length - 1];
    return {
      containers: page.map((b) => bucketView(b, now)),
      nextMarker: buckets.length > request.maxResults && last ? encodeMarker(`${last.name}\n${last.bucketId}`) : undefined,
    };
  }

  async restoreContainer(ref: ContainerRef, deleted: { name: string; version: string }, now: number): Promise<WriteResult> {
    return this.deps.meta.write(async (tx) => {
      const candidates = await tx.listBuckets(ref.account, { prefix: deleted.name, deleted: true, limit: 10_000 });
      const bucket = candidates.find((b) => b.name === deleted.name && b.deletedMs !== null && containerAttrs(b.attrs).deletedVersion === deleted.version);
      if (!bucket) fail('ContainerNotFound');
      checkContainerName(ref.container);
      if (await tx.getBucket(ref.account, ref.container)) fail('ContainerAlreadyExists');
      const attrs = { ...containerAttrs(bucket.attrs), deletedVersion: undefined, etag: this.deps.etags.next(now), lastModifiedMs: now };
      await tx.updateBucket(bucket.bucketId, { attrs: toJson(attrs), deletedMs: null, expiresMs: null, name: ref.container });
      return { etag: attrs.etag, lastModifiedMs: now };
    });
  }

  async createContainer(ref: ContainerRef, options: { metadata: Metadata; publicAccess: PublicAccess | null }, now: number): Promise<WriteResult> {
    checkContainerName(ref.container);
    checkMetadata(options.metadata);
    const attrs: ContainerAttrs = {
      etag: this.deps.etags.next(now), lastModifiedMs: now, metadata: options.metadata,
      publicAccess: options.publicAccess, lease: { state: 'available' }, acl: [],
    };
    await this.deps.meta.write(async (tx) => {
      if (await tx.getBucket(ref.account, ref.container)) fail('ContainerAlreadyExists');
      await tx.insertBucket({ scope: ref.account, name: ref.container, createdMs: now, deletedMs: null, attrs: toJson(attrs) });
    });
    return { etag: attrs.etag, lastModifiedMs: now };
  }

  async getContainer(ref: ContainerRef, options: { leaseId?: string }, now: number): Promise<ContainerView> {
    const bucket = await this.deps.meta.read((tx) => findContainer(tx, ref));
    const attrs = containerAttrs(bucket.attrs);
    checkReadLease(attrs.lease, options.leaseId, now, 'container');
    return containerView(bucket.name, attrs, now);
  }

  async deleteContainer(ref: ContainerRef, options: { leaseId?: string; conditions: Conditions }, now: number): Promise<void> {
    await this.deps.meta.write(async (tx) => {
      const bucket = await findContainer(tx, ref);
      const attrs = containerAttrs(bucket.attrs);
      checkConditions(options.conditions, attrs, 'write');
      checkWriteLease(attrs.lease, options.leaseId, now, 'container');
      const retention = (await readDataProtection(tx, ref.account)).containerDeleteRetention;
      if (!retention.enabled) return tx.dropBucket(bucket.bucketId);
      const deletedVersion = deletedContainerVersion(now, bucket.bucketId);
      const kept = { ...attrs, deletedVersion, lease: { state: 'available' } as const };
      await tx.updateBucket(bucket.bucketId, { attrs: toJson(kept), deletedMs: now, expiresMs: now + retention.days * 86_400_000 });
    });
  }

  async setContainerMetadata(ref: ContainerRef, options: { metadata: Metadata; leaseId?: string; conditions: Conditions }, now: number): Promise<WriteResult> {
    checkMetadata(options.metadata);
    return this.#update(ref, options, now, (attrs) => ({ ...attrs, metadata: options.metadata }));
  }

  async getContainerAcl(ref: ContainerRef, options: { leaseId?: string }, now: number): Promise<{ container: ContainerView; identifiers: SignedIdentifier[] }> {
    const bucket = await this.deps.meta.read((tx) => findContainer(tx, ref));
    const attrs = containerAttrs(bucket.attrs);
    checkReadLease(attrs.lease, options.leaseId, now, 'container');
    return { container: containerView(bucket.name, attrs, now), identifiers: attrs.acl };
  }

  async setContainerAcl(
    ref: ContainerRef,
    options: { publicAccess: PublicAccess | null; identifiers: SignedIdentifier[]; leaseId?: string; conditions: Conditions },
    now: number,
  ): Promise<WriteResult> {
    if (options.identifiers.length > 5) fail('InvalidXmlDocument');
    if (options.identifiers.some((i) => i.id.length === 0 || i.id.length > 64)) fail('InvalidXmlNodeValue', { XmlNodeName: 'Id' });
    return this.#update(ref, options, now, (attrs) => ({ ...attrs, publicAccess: options.publicAccess, acl: options.identifiers }));
  }

  async leaseContainer(ref: ContainerRef, action: LeaseAction, conditions: Conditions, now: number): Promise<LeaseResult> {
    return this.deps.meta.write(async (tx) => {
      const bucket = await findContainer(tx, ref);
      const attrs = containerAttrs(bucket.attrs);
      checkConditions(conditions, attrs, 'write');
      const result = applyLeaseAction(attrs.lease, action, now);
      await tx.updateBucket(bucket.bucketId, { attrs: toJson({ ...attrs, lease: result.lease }) });
      return { etag: attrs.etag, lastModifiedMs: attrs.lastModifiedMs, leaseId: result.leaseId, leaseTimeSec: result.leaseTimeSec };
    });
  }

  async publicAccessOf(ref: ContainerRef): Promise<PublicAccess | null> {
    const bucket = await this.deps.meta.read((tx) => tx.getBucket(ref.account, ref.container));
    return bucket ? containerAttrs(bucket.attrs).publicAccess : null;
  }

  /** Read-modify-write of container attrs under the container lease; bumps ETag and Last-Modified. */
  async #update(
    ref: ContainerRef,
    options: { leaseId?: string; conditions: Conditions },
    now: number,
    change: (attrs: ContainerAttrs) => ContainerAttrs,
  ): Promise<WriteResult> {
    return this.deps.meta.write(async (tx: MetaWriter) => {
      const bucket = await findContainer(tx, ref);
      const attrs = containerAttrs(bucket.attrs);
      checkConditions(options.conditions, attrs, 'write');
      checkWriteLease(attrs.lease, options.leaseId, now, 'container');
      const next = { ...change(attrs), etag: this.deps.etags.next(now), lastModifiedMs: now };
      await tx.updateBucket(bucket.bucketId, { attrs: toJson(next) });
      return { etag: next.etag, lastModifiedMs: now };
    });
  }
}

const DEFAULT_PROTECTION: DataProtection = {
  versioning: false,
  deleteRetention: { enabled: false, days: 7, allowPermanentDelete: false },
  containerDeleteRetention: { enabled: false, days: 7 },
};

export async function readDataProtection(tx: MetaReader, account: string): Promise<DataProtection> {
  const stored = (await tx.getSetting(account, DATA_PROTECTION_KEY)) as DataProtection | undefined;
  return stored ?? DEFAULT_PROTECTION;
}

async function writeDataProtection(tx: MetaWriter, account: string, change: DataProtectionChange): Promise<DataProtection> {
  const current = await readDataProtection(tx, account);
  const next: DataProtection = {
    versioning: change.versioning ?? current.versioning,
    deleteRetention: { ...current.deleteRetention, ...definedOnly(change.deleteRetention ?? {}) },
    containerDeleteRetention: { ...current.containerDeleteRetention, ...definedOnly(change.containerDeleteRetention ?? {}) },
  };
  await tx.putSetting(account, DATA_PROTECTION_KEY, asJson(next));
  return next;
}

function checkRetentionDays(days: number | undefined): void {
  if (days === undefined || !Number.isInteger(days) || days < 1 || days > 365) fail('InvalidXmlNodeValue', { XmlNodeName: 'Days' });
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function bucketView(bucket: BucketRecord, now: number): ContainerView {
  const attrs = containerAttrs(bucket.attrs);
  const view = containerView(bucket.name, attrs, now);
  if (bucket.deletedMs === null) return view;
  const expiresMs = bucket.expiresMs ?? now;
  return { ...view, deleted: { version: attrs.deletedVersion ?? '', deletedMs: bucket.deletedMs, remainingDays: remainingDays(expiresMs, now) } };
}

/** Azure's deleted-container version: 16 upper-case hex digits, unique per deletion. */
function deletedContainerVersion(now: number, bucketId: number): string {
  return (BigInt(now) * 1_000_000n + BigInt(bucketId % 1_000_000)).toString(16).toUpperCase().padStart(16, '0');
}

function splitMarker(marker: string): [string, number] {
  const cut = marker.lastIndexOf('\n');
  return cut < 0 ? [marker, 0] : [marker.slice(0, cut), Number(marker.slice(cut + 1)) || 0];
}

/** Markers are opaque to clients: base64url of the position. */
export function encodeMarker(position: string): string {
  return Buffer.from(position, 'utf8').toString('base64url');
}

export function decodeMarker(marker: string): string {
  return Buffer.from(marker, 'base64url').toString('utf8');
}
