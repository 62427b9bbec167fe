// Who may run this request: Shared Key / Shared Key Lite, bearer token + RBAC, SAS, or anonymous
// public read access. Follows spec/blob-rest.md §4 (Azurite's order: Authorization header → SAS →
// anonymous) and versioning-softdelete.md §9–10.
//
//   Authorization: SharedKey[Lite] acct:sig   verify signature (any key, tolerated layouts) and the
//                                            15-minute x-ms-date/Date skew → else 403 AuthenticationFailed,
//                                            with the server's string-to-sign as AuthenticationErrorDetail;
//                                            `bearerOnly` routes (user delegation key) → 403 AuthenticationFailed
//   Authorization: Bearer <JWT>              HTTPS only and x-ms-version ≥ 2017-11-09 (else 403
//                                            AuthenticationFailed); token checked by the issuer for a storage
//                                            audience (identity.ts) → else 401 InvalidAuthenticationInfo +
//                                            WWW-Authenticate challenge; then the route's `dataAction` must be
//                                            granted to the token's `oid` by a role assignment at an enclosing
//                                            scope → else 403 AuthorizationPermissionMismatch. The static
//                                            development token is allowed everything.
//   ?sig=… (SAS)                             azure-wire/sas.ts: signature with the account keys (or a stored
//                                            access policy of the container, or a user delegation key derived
//                                            by authz/user-delegation-keys.ts), times on the service clock,
//                                            IP, protocol, scope, and the permission the route declares
//                                            (routes.ts `sas`); failures → 403 with Azure's SAS codes. A user
//                                            delegation SAS also needs `skoid` to hold the route's `dataAction`
//                                            now (sp ∩ RBAC, spec §10.2) → else 403 AuthorizationPermissionMismatch
//   nothing                                  allowed only for the public reads a route declares:
//                                            'blob' reads on containers with public access blob|container,
//                                            'container' reads (list blobs, container properties) on
//                                            public access container. Otherwise: an anonymous read of a
//                                            private/missing container → 404 ResourceNotFound (Azure does
//                                            not reveal existence); any other anonymous call → 401
//                                            NoAuthenticationInformation.
//
// Malformed Authorization → 400 InvalidAuthenticationInfo. Unknown accounts never reach here: the
// server answers them 404 ResourceNotFound first (Azurite's behaviour).

import { parseAuthorizationHeader, verifySharedKey, type ParsedAuthorization, type SignableRequest } from '../../azure-wire/shared-key.js';
import { notImplemented, wireFail } from '../../azure-wire/errors.js';
import { checkSas, type ParsedSas, type StoredAccessPolicy } from '../../azure-wire/sas.js';
import { BLOB_PERMISSIONS, type Permission } from '../../authz/roles.js';
import { blobScope } from '../../authz/scopes.js';
import type { RbacRule, SasRule } from './routes.js';
import type { CopySource } from '../service/model.js';
import { formatRfc1123, parseHttpDate } from '../../azure-wire/format.js';
import { bearerChallenge, isHttps, storageAudiences, type BearerPrincipal, type BlobIdentity } from './identity.js';
import { header, type RequestContext } from './request.js';

export type AnonymousAccess = 'blob' | 'container';

const CLOCK_SKEW_MAX_MS = 15 * 60_000;
/** Oldest x-ms-version that accepts `Authorization: Bearer` (spec §4.2). */
const BEARER_VERSION_MIN = '2017-11-09';

export interface AuthRules {
  anonymous?: AnonymousAccess;
  sas?: SasRule;
  dataAction?: RbacRule;
  bearerOnly?: true;
}

export async function authorize(ctx: RequestContext, route: AuthRules): Promise<void> {
  const authorization = header(ctx.req, 'authorization');
  if (authorization !== undefined) {
    const parsed = parseAuthorizationHeader(authorization);
    if (parsed === undefined) wireFail('InvalidAuthenticationInfo');
    if (parsed.scheme === 'Bearer') {
      authorizeBearer(ctx, parsed.token ?? '', route.dataAction);
      ctx.auth.credential = 'bearer';
      return;
    }
    if (route.bearerOnly) wireFail('AuthenticationFailed', { AuthenticationErrorDetail: 'This operation accepts only an OAuth (bearer token) credential.' });
    verifyKey(ctx, parsed);
    ctx.auth.credential = 'shared-key';
    return;
  }
  if (ctx.query.values.sig !== undefined) {
    if (route.bearerOnly) wireFail('AuthenticationFailed', { AuthenticationErrorDetail: 'This operation accepts only an OAuth (bearer token) credential.' });
    await verifySas(ctx, route);
    ctx.auth.credential = 'sas';
    return;
  }
  return authorizeAnonymous(ctx, route.anonymous);
}

/** Token → principal → the route's permission at the target's scope. */
function authorizeBearer(ctx: RequestContext, token: string, rule: RbacRule | undefined): void {
  const identity = ctx.deps.identity;
  if (identity === undefined) notImplemented('bearer token (Microsoft Entra ID) authorization');
  if (!isHttps(ctx.req)) {
    wireFail('AuthenticationFailed', { AuthenticationErrorDetail: 'Bearer tokens are accepted only over HTTPS (nimbus serve --blob-https-port).' });
  }
  const version = header(ctx.req, 'x-ms-version');
  if (version === undefined || version < BEARER_VERSION_MIN) {
    wireFail('AuthenticationFailed', { AuthenticationErrorDetail: 'Authentication scheme Bearer is not supported in this version.' });
  }
  const principal = principalOf(identity, token, ctx.target.account);
  ctx.auth.principal = principal;
  if (rule === undefined) wireFail('AuthorizationPermissionMismatch', { reason: 'this operation cannot be authorized with a bearer token' });
  if (principal.devToken) return;
  const permission = typeof rule === 'function' ? rule(ctx) : rule;
  if (!identity.roleAssignments.allows(principal.objectId, targetScope(ctx, identity), permission)) {
    wireFail('AuthorizationPermissionMismatch', { reason: `principal ${principal.objectId} lacks ${permission.name}` });
  }
}

function principalOf(identity: BlobIdentity, token: string, account: string): BearerPrincipal {
  const result = identity.tokens.verify(token, storageAudiences(account));
  if (result.ok) {
    const { caller } = result;
    return caller.kind === 'dev-token'
      ? { ...identity.devIdentity, devToken: true }
      : { objectId: caller.claims.oid, tenantId: caller.claims.tid, devToken: false };
  }
  const detail = {
    malformed: 'The token is not a well-formed JWT.',
    signature: 'Signature validation failed.',
    expired: 'Lifetime validation failed. The token is expired.',
    'not-yet-valid': 'Lifetime validation failed. The token is not yet valid.',
    audience: `Audience validation failed. Audience did not match (${result.audience ?? ''}).`,
  }[result.reason];
  return wireFail('BearerTokenInvalid', { AuthenticationErrorDetail: detail, wwwAuthenticate: bearerChallenge(identity) });
}

/**
 * The ARM scope the request acts on: the container for container and blob operations, the account for
 * account operations. An account ARM does not know (cannot happen for registered accounts) gets a scope
 * no assignment encloses.
 */
function targetScope(ctx: RequestContext, identity: BlobIdentity, container = ctx.target.level === 'account' ? undefined : ctx.target.container): string {
  const location = identity.locateAccount(ctx.target.account);
  if (location === undefined) return `/unknown-account/${ctx.target.account}`;
  return blobScope({ ...location, account: ctx.target.account, container });
}

/**
 * The source of a copy must be readable by the caller: its URL carries a SAS granting read, or it
 * is in the account the request was authorized for with Shared Key, or its container is public.
 * Otherwise 403 CannotVerifyCopySource (Azure's answer).
 */
export async function authorizeCopySource(ctx: RequestContext, source: CopySource): Promise<void> {
  const query = source.sourceQuery ?? [];
  if (query.some(([name]) => name === 'sig')) {
    const { ref } = source;
    // A source SAS may name a stored access policy of the source's container (managed-disk SAS do).
    const hasIdentifier = query.some(([name]) => name === 'si');
    const policies = hasIdentifier ? await policiesOf(ctx, { account: ref.account, container: ref.container }) : new Map<string, StoredAccessPolicy>();
    const outcome = checkSas(
      {
        accountName: ref.account, query, nowMs: ctx.nowMs, clientIp: ctx.req.socket.remoteAddress ?? '', protocol: isHttps(ctx.req) ? 'https' : 'http',
        need: { resource: 'blob', permission: 'r', target: { container: ref.container, blob: ref.blob, snapshot: source.selector?.snapshot, versionId: source.selector?.versionId } },
      },
      { accountKeys: ctx.deps.accounts.keysFor(ref.account) ?? [], storedPolicy: (_container, id) => policies.get(id) },
    );
    if (outcome.ok) return;
    wireFail('CopySourceAccessDenied', { reason: outcome.reason });
  }
  if (ctx.auth.credential === 'shared-key' && source.ref.account === ctx.target.account) return;
  if (ctx.auth.credential === 'bearer' && source.ref.account === ctx.target.account && mayReadSource(ctx, source.ref.container)) return;
  if ((await ctx.deps.api.publicAccessOf(source.ref)) !== null) return;
  wireFail('CopySourceAccessDenied', { reason: 'the copy source is not readable with the credentials given' });
}

/** A bearer caller copying inside its account must be able to read the source container. */
function mayReadSource(ctx: RequestContext, container: string): boolean {
  const { identity } = ctx.deps;
  const principal = ctx.auth.principal;
  if (identity === undefined || principal === undefined) return false;
  return principal.devToken || identity.roleAssignments.allows(principal.objectId, targetScope(ctx, identity, container), BLOB_PERMISSIONS.blobRead);
}

async function verifySas(ctx: RequestContext, route: AuthRules): Promise<void> {
  const rule = route.sas;
  if (rule === undefined) wireFail('AuthorizationPermissionMismatch', { reason: 'this operation cannot be authorized with a SAS' });
  const { target } = ctx;
  const permission = typeof rule.permission === 'function' ? rule.permission(ctx) : rule.permission;
  const sasTarget = {
    container: target.level === 'account' ? undefined : target.container,
    blob: target.level === 'blob' ? target.blob : undefined,
    snapshot: ctx.query.values.snapshot,
    versionId: ctx.query.values.versionid,
  };
  const policies = await storedPolicies(ctx);
  const outcome = checkSas(
    {
      accountName: target.account, query: ctx.query.list, headers: ctx.req.headers as Readonly<Record<string, string | undefined>>,
      nowMs: ctx.nowMs, clientIp: ctx.req.socket.remoteAddress ?? '', protocol: isHttps(ctx.req) ? 'https' : 'http',
      need: { resource: rule.resource, permission, target: sasTarget },
    },
    {
      accountKeys: ctx.deps.accounts.keysFor(target.account) ?? [],
      storedPolicy: (_container, id) => policies.get(id),
      userDelegationKey: (key) => ctx.deps.identity?.userDelegationKeys.valueOf(key),
    },
  );
  if (!outcome.ok) wireFail(outcome.code, { AuthenticationErrorDetail: outcome.reason });
  checkDelegatorRights(ctx, outcome.sas, route.dataAction);
}

/**
 * A user delegation SAS grants at most what its signer (`skoid`) may do at request time: the SAS
 * already passed its own `sp`; the signer must also hold the route's permission now (spec §10.2).
 */
function checkDelegatorRights(ctx: RequestContext, sas: ParsedSas, rule: RbacRule | undefined): void {
  if (sas.kind !== 'user-delegation') return;
  const { identity } = ctx.deps;
  if (identity === undefined || rule === undefined) wireFail('AuthorizationPermissionMismatch', { reason: 'no RBAC rule for this operation' });
  const permission: Permission = typeof rule === 'function' ? rule(ctx) : rule;
  const objectId = sas.key.signedObjectId;
  if (identity.roleAssignments.allows(objectId, targetScope(ctx, identity), permission)) return;
  wireFail('AuthorizationPermissionMismatch', { reason: `signer ${objectId} lacks ${permission.name}` });
}

/** The container's stored access policies, read only when the SAS names one (`si`). */
async function storedPolicies(ctx: RequestContext): Promise<Map<string, StoredAccessPolicy>> {
  const policies = new Map<string, StoredAccessPolicy>();
  if (ctx.query.values.si === undefined || ctx.target.level === 'account') return policies;
  return policiesOf(ctx, { account: ctx.target.account, container: ctx.target.container });
}

async function policiesOf(ctx: RequestContext, ref: { account: string; container: string }): Promise<Map<string, StoredAccessPolicy>> {
  const policies = new Map<string, StoredAccessPolicy>();
  const identifiers = await ctx.deps.api.getContainerAcl(ref, {}, ctx.nowMs).then((r) => r.identifiers, () => []);
  for (const identifier of identifiers) {
    policies.set(identifier.id, {
      start: identifier.startMs === undefined ? undefined : new Date(identifier.startMs).toISOString(),
      expiry: identifier.expiryMs === undefined ? undefined : new Date(identifier.expiryMs).toISOString(),
      permissions: identifier.permissions,
    });
  }
  return policies;
}

function verifyKey(ctx: RequestContext, parsed: ParsedAuthorization): void {
  checkRequestDate(ctx);
  const signable: SignableRequest = {
    method: ctx.method,
    rawPath: ctx.rawPath,
    query: ctx.query.list,
    // Only set-cookie is an array in IncomingHttpHeaders, and requests do not carry it.
    headers: ctx.req.headers as Readonly<Record<string, string | undefined>>,
  };
  const accounts = ctx.deps.accounts;
  const result = verifySharedKey(signable, parsed, (name) => accounts.keysFor(name), ctx.target.account);
  if (result.ok) return;
  if (result.reason === 'unknown-account') wireFail('ResourceNotFound');
  if (result.reason === 'malformed') wireFail('InvalidAuthenticationInfo');
  wireFail('AuthenticationFailed', {
    AuthenticationErrorDetail: `The MAC signature found in the HTTP request '${parsed.signature ?? ''}' is not the same as any computed signature. Server used following string to sign: '${result.stringToSign ?? ''}'.`,
  });
}

/** x-ms-date (or Date) must be present and within 15 minutes of the server's real clock. */
function checkRequestDate(ctx: RequestContext): void {
  const text = header(ctx.req, 'x-ms-date') ?? header(ctx.req, 'date');
  if (text === undefined) {
    wireFail('AuthenticationFailed', { AuthenticationErrorDetail: 'Request must contain either x-ms-date or Date header.' });
  }
  const dateMs = parseHttpDate(text);
  if (dateMs === undefined) {
    wireFail('AuthenticationFailed', { AuthenticationErrorDetail: `The Date header in the request is incorrect: '${text}'.` });
  }
  const serverMs = ctx.deps.wallClock.nowMs();
  if (Math.abs(serverMs - dateMs) > CLOCK_SKEW_MAX_MS) {
    wireFail('AuthenticationFailed', {
      AuthenticationErrorDetail: `Request date header too old or too far in the future: '${text}'. Server time is ${formatRfc1123(serverMs)}.`,
    });
  }
}

async function authorizeAnonymous(ctx: RequestContext, anonymous: AnonymousAccess | undefined): Promise<void> {
  if (anonymous === undefined || ctx.target.level === 'account') {
    const { identity } = ctx.deps;
    wireFail('NoAuthenticationInformation', identity === undefined ? {} : { wwwAuthenticate: bearerChallenge(identity) });
  }
  const access = await ctx.deps.api.publicAccessOf({ account: ctx.target.account, container: ctx.target.container });
  if (access === 'container' || (access === 'blob' && anonymous === 'blob')) return;
  wireFail('ResourceNotFound');
}
