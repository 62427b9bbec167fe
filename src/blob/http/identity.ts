// What the blob endpoint needs to accept bearer tokens (spec/blob-rest.md §4.2): the token verifier,
// role assignments, the user delegation key derivation, where each account sits in ARM (its scope),
// and the issuer's URL for the 401 challenge. main.ts builds one BlobIdentity and hands it to the
// handler; without one (unit tests of the wire layer) bearer tokens are answered 501.
//
// Audiences accepted (§4.2): https://storage.azure.com[/], the storage app id, and the account's own
// https://<account>.blob.core.windows.net[/]. The SDKs ask for `https://storage.azure.com/.default`.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { VerifyResult } from '../../arm/tokens.js';
import type { RoleAssignments } from '../../authz/role-assignments.js';
import type { UserDelegationKeys } from '../../authz/user-delegation-keys.js';

export interface TokenVerifier {
  verify(token: string, audiences: ReadonlySet<string>): VerifyResult;
}

export interface BlobIdentity {
  tokens: TokenVerifier;
  roleAssignments: RoleAssignments;
  userDelegationKeys: UserDelegationKeys;
  /** Where an account lives in ARM; undefined when it is unknown there. */
  locateAccount(name: string): { subscriptionId: string; resourceGroup: string } | undefined;
  /** The token issuer's base URL (`https://127.0.0.1:10080`), for `authorization_uri`. */
  issuerUrl: string;
  /** The tenant named in the challenge: the development tenant. */
  tenantId: string;
  /** Who the static development token is (object id, tenant): it owns everything. */
  devIdentity: { objectId: string; tenantId: string };
}

/** A bearer caller, as the request's authorization saw it. */
export interface BearerPrincipal {
  objectId: string;
  tenantId: string;
  /** The static development token: allowed everything without role assignments. */
  devToken: boolean;
}

const STORAGE_APP_ID = 'e406a681-f3d4-42a8-90b6-c2b029497af1';

export function storageAudiences(account: string): ReadonlySet<string> {
  const accountAudience = `https://${account}.blob.core.windows.net`;
  return new Set(['https://storage.azure.com', 'https://storage.azure.com/', STORAGE_APP_ID, accountAudience, `${accountAudience}/`]);
}

/** `WWW-Authenticate` on 401s, in the form the Python SDK's challenge parser requires. */
export function bearerChallenge(identity: BlobIdentity): string {
  return `Bearer authorization_uri=${identity.issuerUrl}/${identity.tenantId}/oauth2/authorize resource_id=https://storage.azure.com`;
}

export function isHttps(req: IncomingMessage): boolean {
  return (req.socket as Partial<TLSSocket>).encrypted === true;
}
