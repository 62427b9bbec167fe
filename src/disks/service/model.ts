// The disk service's vocabulary: regions, managed disks and snapshots as the service keeps them.
// Plain data, no HTTP; timestamps are epoch milliseconds. The ARM adapter renders these as
// Microsoft.Compute JSON (src/arm/resources/disks.ts, snapshots.ts). spec/disks-snapshots.md §2–§3.
//
// Where the bytes are. Every region has one internal storage account (`md-<region>`: the hyphen makes
// it a name ARM can never create, so it never collides with a user's account, and it is not listed by
// Microsoft.Storage). Inside it:
//
//   container d-<disk uniqueId>    blob `disk`       the live disk (a page blob = one page object)
//                                  its snapshots     incremental snapshots of that disk (O(1) frozen views)
//   container s-<snapshot uniqueId> blob `snapshot`  a full snapshot (a branch: its own lineage)
//   container f-<family id>        blob `base`       CopyStart target of a family copied from another
//                                  its snapshots     region: one blob snapshot per copied snapshot
//
// An incremental snapshot is therefore a blob snapshot of the disk's page blob: it reads as the
// whole disk, stores only what changed since the previous one, and two of them diff through
// Get Page Ranges with x-ms-previous-snapshot-url because they share the disk's lineage.
import type { Tags } from '../../accounts/model.js';

/** Regions come from configuration (config `regions`); zones: ZRS allowed, incremental snapshots default to ZRS. */
export type { RegionSetting } from '../../platform/config.js';

export const DISK_SKUS = ['Standard_LRS', 'StandardSSD_LRS', 'Premium_LRS', 'StandardSSD_ZRS', 'Premium_ZRS', 'UltraSSD_LRS', 'PremiumV2_LRS'] as const;
export const SNAPSHOT_SKUS = ['Standard_LRS', 'Standard_ZRS', 'Premium_LRS'] as const;
export type DiskSku = (typeof DISK_SKUS)[number];
export type SnapshotSku = (typeof SNAPSHOT_SKUS)[number];

export type CreateOption = 'Empty' | 'Upload' | 'Copy' | 'CopyStart' | 'Import' | 'Restore';

/** A page blob (or one of its snapshots) in a region's internal account or, for Import, anywhere. */
export interface BlobLocation {
  account: string;
  container: string;
  blob: string;
  snapshot?: string;
}

export interface CreationData {
  createOption: CreateOption;
  sourceResourceId?: string;
  sourceUri?: string;
  storageAccountId?: string;
  /** The source's uniqueId, for Copy/CopyStart (read-only, spec §2). */
  sourceUniqueId?: string;
  uploadSizeBytes?: number;
}

/** An active grant: a stored access policy on the data's container, named by the SAS (`si`). */
export interface AccessGrant {
  mode: 'Read' | 'Write';
  policyId: string;
  expiresMs: number;
}

interface ResourceCommon {
  subscriptionId: string;
  resourceGroup: string;
  /** As first created (ARM echoes the creation casing). */
  name: string;
  /** The configured region's name. */
  location: string;
  tags: Tags;
  skuName: string;
  uniqueId: string;
  createdMs: number;
  creationData: CreationData;
  sizeBytes: number;
  data: BlobLocation;
  access: AccessGrant | null;
  /** Accepted and echoed, no behaviour: osType, hyperVGeneration, networkAccessPolicy, tier, … */
  extras: Record<string, string | number | boolean>;
}

export interface DiskRecord extends ResourceCommon {
  zones: string[];
  /** Direct upload: true from creation until the Write grant is revoked (ReadyToUpload/ActiveUpload). */
  uploading: boolean;
  /** incrementalSnapshotFamilyId of this disk's incremental snapshots; new with every disk resource. */
  familyId: string;
}

export type CopyProgress =
  | { state: 'running'; bytesCopied: number; bytesTotal: number }
  | { state: 'succeeded'; bytesCopied: number }
  | { state: 'failed'; bytesCopied: number; errorCode: string; errorMessage: string };

export interface SnapshotRecord extends ResourceCommon {
  incremental: boolean;
  /** Incremental only: the family (one disk lineage) and the order inside it, across regions. */
  familyId?: string;
  familyOrder?: string;
  /** Bytes this snapshot holds that its predecessor in the family (same region) does not. */
  storedBytes: number;
  /** CopyStart only. */
  copy?: CopyProgress;
}

export type DiskState = 'Unattached' | 'Attached' | 'ActiveSAS' | 'ReadyToUpload' | 'ActiveUpload';

export const GIB = 1024 ** 3;

/**
 * A CopyStart target blob (`f-<family>/base` in the target region) and the source snapshot whose
 * content it holds now: the next copy of the family ships only the diff from that snapshot.
 */
export interface CopyBase {
  data: BlobLocation;
  source: BlobLocation;
  familyOrder: string;
  sizeBytes: number;
  /** A copy failed half-way: the base holds a mix, so the next copy resyncs everything. */
  dirty?: boolean;
}
