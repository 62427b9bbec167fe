// The blob service's error codes: Azure's own names, thrown as ServiceError by blob/service and
// mapped to HTTP statuses only in src/azure-wire/errors.ts.
import { ServiceError } from '../platform/errors.js';

export type BlobErrorCode =
  | 'AccountNotFound'
  | 'ContainerNotFound' | 'ContainerAlreadyExists' | 'ContainerBeingDeleted'
  | 'BlobNotFound' | 'BlobAlreadyExists' | 'InvalidBlobType'
  | 'InvalidResourceName' | 'InvalidMetadata' | 'EmptyMetadataKey' | 'MetadataTooLarge'
  | 'InvalidBlockId' | 'InvalidBlockList' | 'BlockListTooLong' | 'BlockCountExceedsLimit' | 'InvalidBlobOrBlock'
  | 'InvalidRange' | 'Md5Mismatch' | 'InvalidMd5' | 'OutOfRangeInput' | 'InvalidInput'
  | 'ConditionNotMet' | 'NotModified' | 'UnsatisfiableCondition' | 'MultipleConditionHeadersNotSupported'
  | 'SourceConditionNotMet'
  | 'LeaseIdMissing' | 'LeaseIdMismatchWithBlobOperation' | 'LeaseIdMismatchWithContainerOperation'
  | 'LeaseNotPresentWithBlobOperation' | 'LeaseNotPresentWithContainerOperation' | 'LeaseLost'
  | 'LeaseAlreadyPresent' | 'LeaseAlreadyBroken' | 'LeaseIdMismatchWithLeaseOperation'
  | 'LeaseNotPresentWithLeaseOperation' | 'LeaseIsBrokenAndCannotBeRenewed'
  | 'LeaseIsBreakingAndCannotBeAcquired' | 'LeaseIsBreakingAndCannotBeChanged'
  | 'InvalidHeaderValue' | 'InvalidQueryParameterValue' | 'InvalidXmlDocument' | 'InvalidXmlNodeValue'
  | 'CannotVerifyCopySource' | 'PendingCopyOperation' | 'NoPendingCopyOperation' | 'CopyIdMismatch'
  | 'InvalidOperation' | 'RequestBodyTooLarge' | 'FeatureNotSupported'
  | 'SnapshotsPresent' | 'OperationNotAllowedOnRootBlob'
  | 'BlobArchived' | 'InvalidBlobTier' | 'BlobBeingRehydrated'
  | 'InvalidPageRange' | 'SequenceNumberConditionNotMet' | 'SequenceNumberIncrementTooLarge'
  | 'PreviousSnapshotNotFound' | 'PreviousSnapshotCannotBeNewer' | 'BlobOverwritten'
  | 'BlobIsSealed' | 'AppendPositionConditionNotMet' | 'MaxBlobSizeConditionNotMet'
  | 'IncrementalCopySourceMustBeSnapshot' | 'IncrementalCopyOfEarlierSnapshotNotAllowed' | 'IncrementalCopyBlobMismatch'
  | 'OperationNotAllowedOnIncrementalCopyBlob';

export class BlobError extends ServiceError<BlobErrorCode> {}

export function fail(code: BlobErrorCode, details: Record<string, string> = {}): never {
  throw new BlobError(code, details);
}
