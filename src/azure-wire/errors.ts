// The Azure storage error table: the only place in Nimbus that knows HTTP statuses for storage
// errors, and the renderer for Azure's error response.
//
// Follows "Common REST API error codes" and "Blob service error codes"
//   https://learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes
//   https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes
// and spec/blob-rest.md §5.
//
// Invariants:
// - Every code a service can throw has a row: `satisfies Record<WireErrorCode, WireError>` makes a
//   missing row a compile error. The wire-level union below is a superset of spec §5, so codes a
//   service adds from the spec usually already have a row.
// - A row's `code` (when present) is what goes on the wire instead of the key. `NotModified` is how
//   the blob service says "a read's If-None-Match / If-Modified-Since failed": Azure answers 304 with
//   `x-ms-error-code: ConditionNotMet` and no body.
// - Error details with PascalCase keys (`HeaderName`, `QueryParameterName`, `AuthenticationErrorDetail`,
//   `XmlNodeName` …) become extra elements of `<Error>`, as Azure sends them. Lower-case keys are
//   context for logs and message templates only: `{operation}` in a message is filled from `operation`.
// - HEAD and 304 responses carry `x-ms-error-code` but never a body.

import type { BlobErrorCode } from '../blob/errors.js';
import { ServiceError } from '../platform/errors.js';
import { escapeXml } from './xml.js';

export interface WireError {
  status: number;
  message: string;
  /** The code sent on the wire when it differs from the row's key. */
  code?: string;
}

/** Codes raised by adapters and the auth layer, plus the rest of spec §5. */
export type WireOnlyErrorCode =
  | 'AuthenticationFailed' | 'AuthorizationFailure' | 'AuthorizationPermissionMismatch'
  | 'AuthorizationResourceTypeMismatch' | 'AuthorizationServiceMismatch' | 'AuthorizationProtocolMismatch'
  | 'AuthorizationSourceIPMismatch' | 'InsufficientAccountPermissions'
  | 'NoAuthenticationInformation' | 'InvalidAuthenticationInfo' | 'BearerTokenInvalid'
  | 'ResourceNotFound' | 'ResourceTypeMismatch'
  | 'UnsupportedHttpVerb' | 'UnsupportedQueryParameter' | 'UnsupportedHeader' | 'UnsupportedXmlNode'
  | 'InvalidUri' | 'RequestUrlFailedToParse'
  | 'MissingRequiredHeader' | 'MissingRequiredQueryParameter' | 'MissingContentLengthHeader' | 'MissingRequiredXmlNode'
  | 'OutOfRangeQueryParameterValue'
  | 'ContainerDisabled' | 'CopyIdMismatch' | 'CopyAcrossAccountsNotSupported'
  | 'InvalidPageRange' | 'SequenceNumberConditionNotMet' | 'SequenceNumberIncrementTooLarge'
  | 'AppendPositionConditionNotMet' | 'MaxBlobSizeConditionNotMet' | 'BlobIsSealed'
  | 'SnapshotsPresent' | 'SnapshotCountExceeded' | 'InfiniteLeaseDurationRequired'
  | 'BlobArchived' | 'BlobBeingRehydrated' | 'BlobNotArchived' | 'InvalidBlobTier'
  | 'PreviousSnapshotNotFound' | 'PreviousSnapshotOperationNotSupported' | 'PreviousSnapshotCannotBeNewer'
  | 'BlobOverwritten' | 'UnauthorizedBlobOverwrite' | 'OperationNotAllowedOnRootBlob' | 'FeatureVersionMismatch'
  | 'NotImplemented' | 'InternalError' | 'OperationTimedOut' | 'ServerBusy'
  | 'CopySourceAccessDenied';

export type WireErrorCode = BlobErrorCode | WireOnlyErrorCode;

const CONDITION_NOT_MET = 'The condition specified using HTTP conditional header(s) is not met.';
const LEASE_ID_MISMATCH = 'The lease ID specified did not match the lease ID for the blob/container.';

export const AZURE_ERRORS = {
  // Authentication and authorization
  AuthenticationFailed: { status: 403, message: 'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.' },
  AuthorizationFailure: { status: 403, message: 'This request is not authorized to perform this operation.' },
  AuthorizationPermissionMismatch: { status: 403, message: 'This request is not authorized to perform this operation using this permission.' },
  AuthorizationResourceTypeMismatch: { status: 403, message: 'This request is not authorized to perform this operation using this resource type.' },
  AuthorizationServiceMismatch: { status: 403, message: 'This request is not authorized to perform this operation using this service.' },
  AuthorizationProtocolMismatch: { status: 403, message: 'This request is not authorized to perform this operation using this protocol.' },
  AuthorizationSourceIPMismatch: { status: 403, message: 'This request is not authorized to perform this operation using this source IP.' },
  InsufficientAccountPermissions: { status: 403, message: 'The account being accessed does not have sufficient permissions to execute this operation.' },
  NoAuthenticationInformation: { status: 401, message: 'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.' },
  // A bearer token that fails validation (spec/blob-rest.md §4.2): Azure's 401 form of InvalidAuthenticationInfo.
  BearerTokenInvalid: { status: 401, code: 'InvalidAuthenticationInfo', message: 'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.' },
  InvalidAuthenticationInfo: { status: 400, message: 'Authentication information is not given in the correct format. Check the value of Authorization header.' },

  // Request shape
  AccountNotFound: { status: 404, code: 'ResourceNotFound', message: 'The specified resource does not exist.' },
  ResourceNotFound: { status: 404, message: 'The specified resource does not exist.' },
  ResourceTypeMismatch: { status: 409, message: 'The specified resource type does not match the type of the existing resource.' },
  UnsupportedHttpVerb: { status: 405, message: 'The resource doesn\'t support specified Http Verb.' },
  UnsupportedQueryParameter: { status: 400, message: 'One of the query parameters specified in the request URI is not supported.' },
  UnsupportedHeader: { status: 400, message: 'One of the HTTP headers specified in the request is not supported.' },
  UnsupportedXmlNode: { status: 400, message: 'One of the XML nodes specified in the request body is not supported.' },
  InvalidUri: { status: 400, message: 'The requested URI does not represent any resource on the server.' },
  RequestUrlFailedToParse: { status: 400, message: 'The url in the request could not be parsed.' },
  MissingRequiredHeader: { status: 400, message: 'An HTTP header that\'s mandatory for this request is not specified.' },
  MissingRequiredQueryParameter: { status: 400, message: 'A query parameter that\'s mandatory for this request is not specified.' },
  MissingContentLengthHeader: { status: 411, message: 'The Content-Length header was not specified.' },
  MissingRequiredXmlNode: { status: 400, message: 'An XML node that\'s mandatory for this request is not specified.' },
  InvalidHeaderValue: { status: 400, message: 'The value for one of the HTTP headers is not in the correct format.' },
  InvalidQueryParameterValue: { status: 400, message: 'Value for one of the query parameters specified in the request URI is invalid.' },
  OutOfRangeQueryParameterValue: { status: 400, message: 'One of the query parameters specified in the request URI is outside the permissible range.' },
  InvalidXmlDocument: { status: 400, message: 'XML specified is not syntactically valid.' },
  InvalidXmlNodeValue: { status: 400, message: 'The value for one of the XML nodes is not in the correct format.' },
  InvalidInput: { status: 400, message: 'One of the request inputs is not valid.' },
  OutOfRangeInput: { status: 400, message: 'One of the request inputs is out of range.' },
  InvalidResourceName: { status: 400, message: 'The specifed resource name contains invalid characters.' },
  InvalidMetadata: { status: 400, message: 'The metadata specified is invalid. It has characters that are not permitted.' },
  EmptyMetadataKey: { status: 400, message: 'The key for one of the metadata key-value pairs is empty.' },
  MetadataTooLarge: { status: 400, message: 'The size of the specified metadata exceeds the maximum size permitted.' },
  Md5Mismatch: { status: 400, message: 'The MD5 value specified in the request did not match with the MD5 value calculated by the server.' },
  InvalidMd5: { status: 400, message: 'The MD5 value specified in the request is invalid. The MD5 value must be 128 bits and Base64-encoded.' },
  RequestBodyTooLarge: { status: 413, message: 'The request body is too large and exceeds the maximum permissible limit.' },
  InvalidOperation: { status: 400, message: 'Invalid operation against a blob snapshot.' },
  FeatureVersionMismatch: { status: 409, message: 'The type of blob in the container is unrecognized by this version.' },
  // Not in Azure's tables as a status of its own; 409 is what Azure answers for features an account lacks.
  FeatureNotSupported: { status: 409, message: 'This feature is not supported.' },

  // Conditions
  ConditionNotMet: { status: 412, message: CONDITION_NOT_MET },
  NotModified: { status: 304, code: 'ConditionNotMet', message: CONDITION_NOT_MET },
  UnsatisfiableCondition: { status: 400, message: 'The condition specified is unsatisfiable.' },
  MultipleConditionHeadersNotSupported: { status: 400, message: 'Multiple condition headers are not supported.' },
  SourceConditionNotMet: { status: 412, message: 'The source condition specified using HTTP conditional header(s) is not met.' },

  // Containers
  ContainerNotFound: { status: 404, message: 'The specified container does not exist.' },
  ContainerAlreadyExists: { status: 409, message: 'The specified container already exists.' },
  ContainerBeingDeleted: { status: 409, message: 'The specified container is being deleted. Try operation later.' },
  ContainerDisabled: { status: 409, message: 'The specified container has been disabled by the administrator.' },

  // Blobs and blocks
  BlobNotFound: { status: 404, message: 'The specified blob does not exist.' },
  BlobAlreadyExists: { status: 409, message: 'The specified blob already exists.' },
  InvalidBlobType: { status: 409, message: 'The blob type is invalid for this operation.' },
  InvalidBlockId: { status: 400, message: 'The specified block ID is invalid. The block ID must be Base64-encoded.' },
  InvalidBlockList: { status: 400, message: 'The specified block list is invalid.' },
  BlockListTooLong: { status: 400, message: 'The block list may not contain more than 50,000 blocks.' },
  BlockCountExceedsLimit: { status: 409, message: 'The uncommitted block count cannot exceed the maximum limit of 100,000 blocks.' },
  InvalidBlobOrBlock: { status: 400, message: 'The specified blob or block content is invalid.' },
  InvalidRange: { status: 416, message: 'The range specified is invalid for the current size of the resource.' },
  InvalidPageRange: { status: 416, message: 'The page range specified is invalid.' },
  SequenceNumberConditionNotMet: { status: 412, message: 'The sequence number condition specified was not met.' },
  SequenceNumberIncrementTooLarge: { status: 409, message: 'The sequence number increment cannot be performed because it would result in overflow of the sequence number.' },
  AppendPositionConditionNotMet: { status: 412, message: 'The append position condition specified was not met.' },
  MaxBlobSizeConditionNotMet: { status: 412, message: 'The max blob size condition specified was not met.' },
  BlobIsSealed: { status: 409, message: 'The blob is sealed and its contents cannot be modified.' },
  SnapshotsPresent: { status: 409, message: 'This operation is not permitted because the blob has snapshots.' },
  SnapshotCountExceeded: { status: 409, message: 'The snapshot count against this blob has been exceeded.' },
  UnauthorizedBlobOverwrite: { status: 403, message: 'This request is not authorized to perform blob overwrites.' },
  OperationNotAllowedOnRootBlob: { status: 403, message: 'This operation is not allowed on the root blob.' },

  // Copy. The source of a Nimbus copy is always local, so the only way to fail to verify it is that it
  // is missing: Azure then answers with the source's own status (404), spec §5 "or the source's status".
  CannotVerifyCopySource: { status: 404, message: 'Could not verify the copy source within the specified time.' },
  CopySourceAccessDenied: { status: 403, code: 'CannotVerifyCopySource', message: 'This request is not authorized to read the copy source.' },
  PendingCopyOperation: { status: 409, message: 'There is currently a pending copy operation.' },
  NoPendingCopyOperation: { status: 409, message: 'There is currently no pending copy operation.' },
  CopyIdMismatch: { status: 409, message: 'The specified copy ID did not match the copy ID for the pending copy operation.' },
  CopyAcrossAccountsNotSupported: { status: 400, message: 'The copy source account and destination account must be the same.' },
  // Incremental Copy Blob. Azure's error table spells the second code "IncrementalCopyOfEralierVersionSnapshotNotAllowed"
  // (a typo the SDKs have since dropped); the service and the current SDKs' BlobErrorCode use this spelling.
  IncrementalCopySourceMustBeSnapshot: { status: 409, message: 'The source for incremental copy request must be a snapshot.' },
  IncrementalCopyOfEarlierSnapshotNotAllowed: { status: 409, message: 'The specified snapshot is earlier than the last snapshot copied into the incremental copy blob.' },
  IncrementalCopyBlobMismatch: { status: 409, message: 'The specified source blob is different than the copy source of the existing incremental copy blob.' },
  OperationNotAllowedOnIncrementalCopyBlob: { status: 409, message: 'The specified operation is not allowed on an incremental copy blob.' },

  // Leases
  LeaseIdMissing: { status: 412, message: 'There is currently a lease on the resource and no lease ID was specified in the request.' },
  LeaseIdMismatchWithBlobOperation: { status: 412, message: 'The lease ID specified did not match the lease ID for the blob.' },
  LeaseIdMismatchWithContainerOperation: { status: 412, message: 'The lease ID specified did not match the lease ID for the container.' },
  LeaseNotPresentWithBlobOperation: { status: 412, message: 'There is currently no lease on the blob.' },
  LeaseNotPresentWithContainerOperation: { status: 412, message: 'There is currently no lease on the container.' },
  LeaseLost: { status: 412, message: 'A lease ID was specified, but the lease for the resource has expired.' },
  InfiniteLeaseDurationRequired: { status: 412, message: 'The lease ID matched, but the specified lease must be an infinite-duration lease.' },
  LeaseAlreadyPresent: { status: 409, message: 'There is already a lease present.' },
  LeaseAlreadyBroken: { status: 409, message: 'The lease has already been broken and cannot be broken again.' },
  LeaseIdMismatchWithLeaseOperation: { status: 409, message: LEASE_ID_MISMATCH },
  LeaseNotPresentWithLeaseOperation: { status: 409, message: 'There is currently no lease on the blob/container.' },
  LeaseIsBrokenAndCannotBeRenewed: { status: 409, message: 'The lease ID matched, but the lease has been broken explicitly and cannot be renewed.' },
  LeaseIsBreakingAndCannotBeAcquired: { status: 409, message: 'The lease ID matched, but the lease is currently in breaking state and cannot be acquired until it is broken.' },
  LeaseIsBreakingAndCannotBeChanged: { status: 409, message: 'The lease ID matched, but the lease is currently in breaking state and cannot be changed.' },

  // Tiers and snapshot diffs (features whose routes are not built yet still need their rows)
  BlobArchived: { status: 409, message: 'This operation is not permitted on an archived blob.' },
  BlobBeingRehydrated: { status: 409, message: 'This operation is not permitted because the blob is being rehydrated.' },
  BlobNotArchived: { status: 409, message: 'Blob is not in the archive tier.' },
  InvalidBlobTier: { status: 400, message: 'The specified blob tier is invalid.' },
  PreviousSnapshotNotFound: { status: 409, message: 'The previous snapshot is not found.' },
  PreviousSnapshotOperationNotSupported: { status: 409, message: 'Differential Get Page Ranges is not supported on the previous snapshot.' },
  PreviousSnapshotCannotBeNewer: { status: 400, message: 'The prevsnapshot query parameter value cannot be newer than snapshot query parameter value.' },
  BlobOverwritten: { status: 409, message: 'The blob has been recreated since the previous snapshot was taken.' },

  // Server side
  NotImplemented: { status: 501, message: 'Nimbus does not implement {operation} yet.' },
  InternalError: { status: 500, message: 'The server encountered an internal error. Please retry the request.' },
  OperationTimedOut: { status: 500, message: 'The operation could not be completed within the permitted time.' },
  ServerBusy: { status: 503, message: 'The server is currently unable to receive requests. Please retry your request.' },
} as const satisfies Record<WireErrorCode, WireError>;

/** Thrown by adapters for wire-level failures (bad headers, auth, unknown operations). */
export class WireFailure extends ServiceError<WireErrorCode> {}

export function wireFail(code: WireErrorCode, details: Record<string, string> = {}): never {
  throw new WireFailure(code, details);
}

/** The operation is known to Azure but not built in Nimbus yet: 501 naming it, never a silent wrong answer. */
export function notImplemented(operation: string): never {
  throw new WireFailure('NotImplemented', { operation });
}

export function isWireErrorCode(code: string): code is WireErrorCode {
  return Object.hasOwn(AZURE_ERRORS, code);
}

export interface RenderedError {
  status: number;
  /** The value of `x-ms-error-code`. */
  code: string;
  /** Undefined when the response must not have a body (HEAD, 304). */
  body: string | undefined;
}

/**
 * ```
 * <?xml version="1.0" encoding="utf-8"?>
 * <Error><Code>BlobNotFound</Code><Message>The specified blob does not exist.
 * RequestId:…
 * Time:2024-01-01T00:00:00.0000000Z</Message><HeaderName>…</HeaderName></Error>
 * ```
 * An unknown code (a bug: a service threw something without a row) renders as 500 InternalError.
 */
export function renderAzureError(
  code: string,
  details: Readonly<Record<string, string>>,
  context: { requestId: string; timeIso: string; withBody: boolean },
): RenderedError {
  const row: WireError = isWireErrorCode(code) ? AZURE_ERRORS[code] : AZURE_ERRORS.InternalError;
  const wireCode = row.code ?? (isWireErrorCode(code) ? code : 'InternalError');
  if (!context.withBody || row.status === 304) return { status: row.status, code: wireCode, body: undefined };
  const message = fillTemplate(row.message, details);
  let extra = '';
  for (const key of Object.keys(details)) {
    if (isPascalCase(key)) extra += `<${key}>${escapeXml(details[key] ?? '')}</${key}>`;
  }
  const body = '<?xml version="1.0" encoding="utf-8"?><Error><Code>' + wireCode + '</Code><Message>'
    + escapeXml(`${message}\nRequestId:${context.requestId}\nTime:${context.timeIso}`) + '</Message>' + extra + '</Error>';
  return { status: row.status, code: wireCode, body };
}

function fillTemplate(message: string, details: Readonly<Record<string, string>>): string {
  if (!message.includes('{')) return message;
  return message.replace(/\{(\w+)\}/g, (whole, key: string) => details[key] ?? (key === 'operation' ? 'this operation' : whole));
}

function isPascalCase(key: string): boolean {
  const first = key.charCodeAt(0);
  return first >= 65 && first <= 90 && /^[A-Za-z0-9]+$/.test(key);
}
