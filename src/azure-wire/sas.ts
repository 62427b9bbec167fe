// Shared access signatures: verifying a SAS's signature and deciding whether it allows an
// operation. Pure functions; the adapter reads the request, the clock and the keys, and passes them in.
// Parsing lives in sas-parse.ts and the string-to-sign tables in sas-string-to-sign.ts; this module
// re-exports both, so callers import only from here.
//
// Follows "Create a service SAS", "Create a user delegation SAS", "Create an account SAS",
// "Define a stored access policy":
//   https://learn.microsoft.com/rest/api/storageservices/create-service-sas
//   https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas
//   https://learn.microsoft.com/rest/api/storageservices/create-account-sas
//   https://learn.microsoft.com/rest/api/storageservices/define-stored-access-policy
// and spec/versioning-softdelete.md §10.
//
// Order of checks in `checkSas` (Azurite's, which matches the codes Azure returns):
//
//   parse ─ stored policy ─ signature ─ time ─ source IP ─ protocol ─ service ─ resource type/scope ─ permission
//   403 AuthenticationFailed ────────────┘      IPMismatch  Protocol…  Service…  ResourceType…        Permission…
//
// Invariants:
// - Scope is enforced by the signature: the signed resource is rebuilt from the request's target, so
//   a SAS for `/c/a.txt` cannot verify against `/c/b.txt` (AuthenticationFailed, as Azure answers).
//   `authorizeSas` additionally checks the *kind* of target (sr=bs needs a snapshot, sr=c is the only
//   service SAS that lists a container …), which the signature cannot express.
// - Signatures are compared in constant time; any of the account's keys may have signed.
// - Times: valid when `st ≤ now < se`; for a user delegation SAS also `skt ≤ now < ske`.
// - A user delegation SAS grants at most `sp`; intersecting that with the RBAC rights of `skoid` at
//   request time (spec §10.2) is the caller's job.
//
// Observed Azure behaviour we follow loosely: a field in both the SAS and its stored access policy is
// documented as 400 in places; we answer 403 AuthenticationFailed, the code every SAS client handles.

import { timingSafeEqual } from 'node:crypto';
import { computeSignature } from './shared-key.js';
import {
  parseIpv4,
  parseSas,
  parseSasTime,
  type ParsedSas,
  type SasCheck,
  type SasFailure,
  type SasPermission,
  type UserDelegationKeyFields,
} from './sas-parse.js';
import { sasStringToSign, type SasSigningContext, type SasTarget } from './sas-string-to-sign.js';

export {
  isSasRequest, parseIpRange, parseIpv4, parseSas, parseSasTime, SAS_VERSION_MIN,
  type AccountSas, type IpRange, type ParsedSas, type SasCheck, type SasErrorCode, type SasFailure, type SasParseResult,
  type SasPermission, type SasResponseHeaders, type ServiceSas, type SignedResource, type UserDelegationKeyFields,
  type UserDelegationSas,
} from './sas-parse.js';
export { sasStringToSign, type SasSigningContext, type SasTarget } from './sas-string-to-sign.js';

export interface SasKeys {
  /** The account's keys (key1, key2), base64. Service and account SAS may be signed with any. */
  accountKeys: readonly string[];
  /** The base64 `Value` of the user delegation key these fields name; undefined when unknown. */
  userDelegationKey?: (key: UserDelegationKeyFields) => string | undefined;
}

/** A container's signed identifier as stored by Set Container ACL; times ISO 8601 as stored. */
export interface StoredAccessPolicy {
  start?: string;
  expiry?: string;
  permissions?: string;
}

/** What the operation needs. `resource` implies the account-SAS resource type: service→s, container→c, blob→o. */
export interface SasNeed {
  resource: 'service' | 'container' | 'blob';
  permission: SasPermission;
  target: SasTarget;
}

export interface SasAuthorizationRequest {
  /** The request time, read once from the clock. */
  nowMs: number;
  /** As the socket reports it; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) counts as IPv4. */
  clientIp: string;
  protocol: 'http' | 'https';
  need: SasNeed;
}

export interface SasCheckRequest extends SasAuthorizationRequest {
  accountName: string;
  /** All decoded query parameters of the request. */
  query: ReadonlyArray<readonly [string, string]>;
  /** Header names lower-case; read only for user delegation SAS that sign request headers (srh). */
  headers?: Readonly<Record<string, string | undefined>>;
}

export interface SasCredentials extends SasKeys {
  /** The container's stored access policy with this identifier; undefined when there is none. */
  storedPolicy?: (container: string, identifier: string) => StoredAccessPolicy | undefined;
}

export type SasOutcome = { ok: true; sas: ParsedSas } | SasFailure;

const RESOURCE_TYPE_LETTERS = { service: 's', container: 'c', blob: 'o' } as const;
const BLOB_SERVICE_LETTER = 'b';

/** Parse, look up the stored policy, verify, authorize: the whole decision for one request. */
export function checkSas(request: SasCheckRequest, credentials: SasCredentials): SasOutcome {
  const parsed = parseSas(request.query);
  if (!parsed.ok) return parsed;
  const { sas } = parsed;
  const policy = storedPolicyFor(sas, request.need.target, credentials);
  if (policy !== undefined && !policy.ok) return policy;
  const context = { accountName: request.accountName, target: request.need.target, headers: request.headers, query: request.query };
  const signature = verifySasSignature(sas, context, credentials);
  if (!signature.ok) return signature;
  const decision = authorizeSas(sas, request, policy?.policy);
  return decision.ok ? { ok: true, sas } : decision;
}

function storedPolicyFor(
  sas: ParsedSas,
  target: SasTarget,
  credentials: SasCredentials,
): { ok: true; policy: StoredAccessPolicy } | SasFailure | undefined {
  if (sas.kind !== 'service' || sas.identifier === undefined) return undefined;
  const policy = target.container === undefined ? undefined : credentials.storedPolicy?.(target.container, sas.identifier);
  return policy === undefined ? fail('AuthenticationFailed', `no stored access policy '${sas.identifier}' on the container`) : { ok: true, policy };
}

// ---------------------------------------------------------------------------------------------
// Signature
// ---------------------------------------------------------------------------------------------

/**
 * Recomputes the signature over the request's target and compares it with `sig`. On a mismatch the
 * failure carries the server's string-to-sign, for AuthenticationErrorDetail in development builds.
 */
export function verifySasSignature(sas: ParsedSas, context: SasSigningContext, keys: SasKeys): SasCheck {
  const stringToSign = sasStringToSign(sas, context);
  if (stringToSign === undefined) {
    return fail('AuthorizationResourceTypeMismatch', `sr=${'resource' in sas ? sas.resource : ''} does not fit the request's target`);
  }
  const signingKeys = sas.kind === 'user-delegation' ? userDelegationKeys(sas.key, keys) : keys.accountKeys;
  if (signingKeys.length === 0) return fail('AuthenticationFailed', 'no key can verify this signature (unknown user delegation key)');
  // A client that left `+` unencoded reaches us as a space once the query is decoded.
  const signature = sas.signature.replaceAll(' ', '+');
  const matched = signingKeys.some((key) => signaturesEqual(computeSignature(stringToSign, key), signature));
  return matched ? { ok: true } : { ...fail('AuthenticationFailed', 'signature mismatch'), stringToSign };
}

function userDelegationKeys(key: UserDelegationKeyFields, keys: SasKeys): readonly string[] {
  const value = keys.userDelegationKey?.(key);
  return value === undefined ? [] : [value];
}

function signaturesEqual(expected: string, actual: string): boolean {
  const expectedBytes = Buffer.from(expected, 'utf8');
  const actualBytes = Buffer.from(actual, 'utf8');
  // Lengths are public (a valid signature is always 44 characters); only the contents must not leak.
  return expectedBytes.length === actualBytes.length && timingSafeEqual(expectedBytes, actualBytes);
}

// ---------------------------------------------------------------------------------------------
// Authorization
// ---------------------------------------------------------------------------------------------

interface Grant {
  permissions: string;
  startsAtMs?: number;
  expiresAtMs: number;
}

/**
 * Whether an already verified SAS allows `request.need`. `policy` is the container's stored access
 * policy named by `si` (required when the SAS has one, ignored otherwise).
 */
export function authorizeSas(sas: ParsedSas, request: SasAuthorizationRequest, policy?: StoredAccessPolicy): SasCheck {
  const grant = effectiveGrant(sas, policy);
  if (!grant.ok) return grant;
  const { nowMs, need } = request;
  if (!withinTime(nowMs, grant.startsAtMs, grant.expiresAtMs)) {
    return fail('AuthenticationFailed', 'Signature not valid in the specified time frame');
  }
  if (sas.kind === 'user-delegation' && !withinTime(nowMs, sas.keyStartsAtMs, sas.keyExpiresAtMs)) {
    return fail('AuthenticationFailed', 'the user delegation key is not valid at the request time');
  }
  if (!ipAllowed(sas, request.clientIp)) return fail('AuthorizationSourceIPMismatch', `source IP ${request.clientIp} is outside sip=${sas.ipRange ?? ''}`);
  if (sas.httpsOnly && request.protocol !== 'https') return fail('AuthorizationProtocolMismatch', 'the SAS allows https only');
  const scope = scopeCheck(sas, need);
  if (!scope.ok) return scope;
  if (!grant.permissions.includes(need.permission)) {
    return fail('AuthorizationPermissionMismatch', `sp=${grant.permissions} lacks '${need.permission}'`);
  }
  return { ok: true };
}

/** sp/st/se from the SAS or its stored access policy: one source per field, and sp, se required. */
function effectiveGrant(sas: ParsedSas, policy: StoredAccessPolicy | undefined): ({ ok: true } & Grant) | SasFailure {
  if (sas.kind !== 'service' || sas.identifier === undefined) {
    if (sas.permissions === undefined || sas.expiresAtMs === undefined) return fail('AuthenticationFailed', 'sp and se are required');
    return { ok: true, permissions: sas.permissions, startsAtMs: sas.startsAtMs, expiresAtMs: sas.expiresAtMs };
  }
  if (policy === undefined) return fail('AuthenticationFailed', `no stored access policy '${sas.identifier}' on the container`);
  const conflict = (sas.startsOn !== undefined && policy.start !== undefined && 'st')
    || (sas.expiresOn !== undefined && policy.expiry !== undefined && 'se')
    || (sas.permissions !== undefined && policy.permissions !== undefined && 'sp');
  if (conflict) return fail('AuthenticationFailed', `${conflict} is given by both the SAS and stored access policy '${sas.identifier}'`);
  const permissions = sas.permissions ?? policy.permissions;
  const startsAtMs = sas.startsAtMs ?? (policy.start === undefined ? undefined : parseSasTime(policy.start));
  const expiresAtMs = sas.expiresAtMs ?? (policy.expiry === undefined ? undefined : parseSasTime(policy.expiry));
  if (permissions === undefined || expiresAtMs === undefined) {
    return fail('AuthenticationFailed', 'neither the SAS nor its stored access policy gives sp and se');
  }
  if (Number.isNaN(startsAtMs) || Number.isNaN(expiresAtMs)) return fail('AuthenticationFailed', 'the stored access policy has an unreadable time');
  return { ok: true, permissions, startsAtMs, expiresAtMs };
}

function withinTime(nowMs: number, startsAtMs: number | undefined, expiresAtMs: number): boolean {
  return (startsAtMs === undefined || startsAtMs <= nowMs) && nowMs < expiresAtMs;
}

function ipAllowed(sas: ParsedSas, clientIp: string): boolean {
  if (sas.allowedIps === undefined) return true;
  const address = parseIpv4(clientIp);
  return address !== undefined && sas.allowedIps.first <= address && address <= sas.allowedIps.last;
}

/**
 * Account SAS: `ss` must name the blob service, `srt` the resource type.
 * Service and user delegation SAS (the signature already pinned the names):
 *
 *   need       sr=c   sr=b   sr=bs             sr=bv              sr=d
 *   service    ✗      ✗      ✗                 ✗                  ✗
 *   container  ✓      ✗      ✗                 ✗                  ✗
 *   blob       ✓      ✓      ✓ snapshot only   ✓ version only     ✓ blob under the directory
 *
 * sr=b also covers that blob's snapshots and versions (spec §10.1), so `x` on a blob SAS can delete
 * a version of it.
 */
function scopeCheck(sas: ParsedSas, need: SasNeed): SasCheck {
  if (sas.kind === 'account') {
    if (!sas.services.includes(BLOB_SERVICE_LETTER)) return fail('AuthorizationServiceMismatch', `ss=${sas.services} does not include the blob service`);
    const letter = RESOURCE_TYPE_LETTERS[need.resource];
    return sas.resourceTypes.includes(letter) ? { ok: true } : fail('AuthorizationResourceTypeMismatch', `srt=${sas.resourceTypes} lacks '${letter}'`);
  }
  const mismatch = fail('AuthorizationResourceTypeMismatch', `sr=${sas.resource} does not cover a ${need.resource} request`);
  if (need.resource === 'service') return mismatch;
  if (need.resource === 'container') return sas.resource === 'c' ? { ok: true } : mismatch;
  const { snapshot, versionId } = need.target;
  switch (sas.resource) {
    case 'c':
    case 'b':
      return { ok: true };
    case 'bs':
      return snapshot !== undefined && versionId === undefined ? { ok: true } : mismatch;
    case 'bv':
      return versionId !== undefined && snapshot === undefined ? { ok: true } : mismatch;
    case 'd':
      return (need.target.blob ?? '').split('/').length >= (sas.directoryDepth ?? 0) ? { ok: true } : mismatch;
  }
}

function fail(code: SasFailure['code'], reason: string): SasFailure {
  return { ok: false, code, reason };
}
