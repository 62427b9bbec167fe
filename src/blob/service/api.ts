// The blob service as adapters see it: one method per Azure operation, in domain terms.
// `now` is read once per request by the adapter from the injected clock and passed down.
import type {
  BlobRef, BlockListView, Conditions, ContainerRef, ContainerView, CopyResult, CopySource, GetBlobResult,
  LeaseAction, LeaseResult, ListBlobsRequest, ListBlobsResult, ListContainersRequest, ListContainersResult,
  Metadata, PublicAccess, PutBlobRequest, PutBlockListRequest, ServiceProperties, SignedIdentifier,
  WriteResult, BlobHttpHeaders, BodySource, ByteRange, BlobView, DataProtection, DataProtectionChange, BlobSelector, SnapshotResult, AccessTier, RehydratePriority,
} from './model.js';
import type { PageRangesResult, PageWriteOptions, SequenceAction } from './page-blobs.js';
import type { PreviousSnapshot } from './blobs.js';
import type { StoredPolicy } from './lifecycle/policy.js';
import type { LifecycleRunReport } from './lifecycle/executor.js';
import type { UsageOptions, UsageReport } from './billing/usage.js';
import type { AppendConditions, AppendResult } from './append-blobs.js';

/** [start, end) byte range of a page blob, 512-aligned. */
export interface PageRange {
  start: number;
  end: number;
}

export type PageWriteResult = WriteResult & { sequenceNumber: number };
export type { PageRangesResult, PageWriteOptions, SequenceAction, PreviousSnapshot, AppendConditions, AppendResult };

export interface BlobApi {
  // Account
  getServiceProperties(account: string): Promise<ServiceProperties>;
  setServiceProperties(account: string, change: ServiceProperties): Promise<void>;
  listContainers(account: string, request: ListContainersRequest, now: number): Promise<ListContainersResult>;

  // Containers
  createContainer(ref: ContainerRef, options: { metadata: Metadata; publicAccess: PublicAccess | null }, now: number): Promise<WriteResult>;
  getContainer(ref: ContainerRef, options: { leaseId?: string }, now: number): Promise<ContainerView>;
  deleteContainer(ref: ContainerRef, options: { leaseId?: string; conditions: Conditions }, now: number): Promise<void>;
  setContainerMetadata(ref: ContainerRef, options: { metadata: Metadata; leaseId?: string; conditions: Conditions }, now: number): Promise<WriteResult>;
  getContainerAcl(ref: ContainerRef, options: { leaseId?: string }, now: number): Promise<{ container: ContainerView; identifiers: SignedIdentifier[] }>;
  setContainerAcl(ref: ContainerRef, options: { publicAccess: PublicAccess | null; identifiers: SignedIdentifier[]; leaseId?: string; conditions: Conditions }, now: number): Promise<WriteResult>;
  leaseContainer(ref: ContainerRef, action: LeaseAction, conditions: Conditions, now: number): Promise<LeaseResult>;
  listBlobs(ref: ContainerRef, request: ListBlobsRequest, now: number): Promise<ListBlobsResult>;
  /** Restore Container: brings a soft-deleted container back, under its own or a new name. */
  restoreContainer(ref: ContainerRef, deleted: { name: string; version: string }, now: number): Promise<WriteResult>;
  /** Removes soft-deleted blobs, versions, snapshots and containers whose retention has ended. */
  purgeExpired(now: number): Promise<{ entries: number; containers: number }>;

  // Blobs
  putBlob(ref: BlobRef, request: PutBlobRequest, now: number): Promise<WriteResult>;
  putBlock(ref: BlobRef, blockId: string, body: BodySource, options: { leaseId?: string }, now: number): Promise<{ contentMd5: string }>;
  /** The block references the source's bytes without reading them, so no MD5 is computed. */
  putBlockFromUrl(ref: BlobRef, blockId: string, source: CopySource, options: { leaseId?: string }, now: number): Promise<{ contentMd5?: string }>;
  putBlockList(ref: BlobRef, request: PutBlockListRequest, now: number): Promise<WriteResult>;
  getBlockList(ref: BlobRef, options: { leaseId?: string; selector?: BlobSelector }, now: number): Promise<BlockListView>;
  getBlob(ref: BlobRef, options: { range?: ByteRange; conditions: Conditions; leaseId?: string; selector?: BlobSelector }, now: number): Promise<GetBlobResult>;
  getBlobProperties(ref: BlobRef, options: { conditions: Conditions; leaseId?: string; selector?: BlobSelector }, now: number): Promise<BlobView>;
  setBlobHttpHeaders(ref: BlobRef, options: { headers: BlobHttpHeaders; conditions: Conditions; leaseId?: string }, now: number): Promise<WriteResult>;
  setBlobMetadata(ref: BlobRef, options: { metadata: Metadata; conditions: Conditions; leaseId?: string }, now: number): Promise<WriteResult>;
  deleteBlob(ref: BlobRef, options: { conditions: Conditions; leaseId?: string; deleteSnapshots?: 'include' | 'only'; selector?: BlobSelector; permanent?: boolean }, now: number): Promise<void>;
  undeleteBlob(ref: BlobRef, now: number): Promise<void>;
  snapshotBlob(ref: BlobRef, options: { metadata?: Metadata; conditions: Conditions; leaseId?: string }, now: number): Promise<SnapshotResult>;
  copyBlob(
    ref: BlobRef, source: CopySource,
    options: { metadata?: Metadata; conditions: Conditions; leaseId?: string; tier?: AccessTier; rehydratePriority?: RehydratePriority; sync?: boolean },
    now: number,
  ): Promise<CopyResult>;
  /** Set Blob Tier; `accepted` when a rehydration started (202) rather than an immediate change (200). */
  setBlobTier(ref: BlobRef, options: { tier: AccessTier; priority: RehydratePriority; selector?: BlobSelector; leaseId?: string }, now: number): Promise<{ accepted: boolean }>;
  putBlobFromUrl(ref: BlobRef, source: CopySource, options: { headers?: BlobHttpHeaders; metadata: Metadata; conditions: Conditions; leaseId?: string; copySourceProperties: boolean }, now: number): Promise<WriteResult>;
  abortCopy(ref: BlobRef, copyId: string, options: { leaseId?: string }, now: number): Promise<void>;
  /** Incremental Copy Blob: `source` names a page blob snapshot; completes before it returns. */
  incrementalCopy(ref: BlobRef, source: CopySource, options: { conditions: Conditions; leaseId?: string }, now: number): Promise<CopyResult & { destinationSnapshot: string }>;
  leaseBlob(ref: BlobRef, action: LeaseAction, conditions: Conditions, now: number): Promise<LeaseResult>;

  // Append blobs
  createAppendBlob(ref: BlobRef, request: { headers: BlobHttpHeaders; metadata: Metadata; conditions: Conditions; leaseId?: string }, now: number): Promise<WriteResult>;
  appendBlock(ref: BlobRef, body: BodySource, options: { conditions: Conditions; leaseId?: string; append: AppendConditions }, now: number): Promise<AppendResult>;
  sealAppendBlob(ref: BlobRef, options: { conditions: Conditions; leaseId?: string; append: AppendConditions }, now: number): Promise<WriteResult>;

  // Page blobs
  createPageBlob(
    ref: BlobRef,
    request: { sizeBytes: number; sequenceNumber?: number; headers: BlobHttpHeaders; metadata: Metadata; conditions: Conditions; leaseId?: string },
    now: number,
  ): Promise<WriteResult>;
  putPages(ref: BlobRef, range: PageRange, body: BodySource, options: PageWriteOptions, now: number): Promise<PageWriteResult>;
  clearPages(ref: BlobRef, range: PageRange, options: PageWriteOptions, now: number): Promise<PageWriteResult>;
  putPagesFromUrl(ref: BlobRef, range: PageRange, source: CopySource, options: PageWriteOptions, now: number): Promise<PageWriteResult>;
  resizePageBlob(ref: BlobRef, sizeBytes: number, options: PageWriteOptions, now: number): Promise<PageWriteResult>;
  updateSequenceNumber(ref: BlobRef, action: SequenceAction, options: PageWriteOptions, now: number): Promise<PageWriteResult>;
  getPageRanges(
    ref: BlobRef,
    options: { selector?: BlobSelector; range?: PageRange; previous?: PreviousSnapshot; marker?: string; maxResults?: number; conditions: Conditions },
    now: number,
  ): Promise<PageRangesResult>;

  /** Versioning and soft-delete switches (management plane `blobServices/default`). */
  getDataProtection(account: string): Promise<DataProtection>;
  setDataProtection(account: string, change: DataProtectionChange): Promise<DataProtection>;

  /** Whether anonymous reads are allowed (public access level of a live container). */
  publicAccessOf(ref: ContainerRef): Promise<PublicAccess | null>;

  // ---- lifecycle management (lifecycle/) and usage (billing/): management plane and admin ----
  /** `managementPolicies/default` GET: undefined when the account has none (ARM: 404). */
  getManagementPolicy(account: string): Promise<StoredPolicy | undefined>;
  /** PUT: `properties` is the ARM body's properties `{ policy: { rules } }`; throws LifecyclePolicyError. */
  setManagementPolicy(account: string, properties: unknown, now: number): Promise<StoredPolicy>;
  /** DELETE: false when there was none. */
  deleteManagementPolicy(account: string): Promise<boolean>;
  /** Scheduler step: runs every account's policy that is due (once per configured interval). */
  runLifecycleDue(now: number): Promise<LifecycleRunReport[]>;
  /** Admin / CLI trigger: runs the account's policy now; undefined when it has no enabled rule. */
  runLifecycleNow(account: string, now: number): Promise<LifecycleRunReport | undefined>;
  lastLifecycleRun(account: string): Promise<LifecycleRunReport | undefined>;
  /** Billable bytes per tier by Azure's rules, and physically stored bytes, per account and container. */
  usageReport(account: string, now: number, options?: UsageOptions): Promise<UsageReport>;
}
