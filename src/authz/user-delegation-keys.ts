// User delegation keys (Get User Delegation Key, spec/blob-rest.md §4.2, versioning-softdelete.md §10.2):
// keys Nimbus hands a bearer-token caller so it can sign user delegation SAS without the account key.
//
// Nothing is stored. A key's value is derived from the fields that name it:
//
//   Value = base64( HMAC-SHA256( secret, skoid \n sktid \n skt \n ske \n sks \n skv ) )
//   secret = HMAC-SHA256( token signing key (PKCS#8 DER), "nimbus user delegation key v1" )
//
// so SAS verification recomputes the value from the SAS's own skoid…skv. A forged or edited field
// gives another value and the signature fails. Deriving the secret from the token signing key means
// replacing arm-token-key.pem revokes every key (and every token) at once, which is what rotating that
// key should mean. Alternative rejected: storing issued keys — a table to expire and replicate for no
// gain, since a key cannot be revoked before its expiry in Azure either (only by revoking all keys).
//
// Times are rendered at second precision (`2024-01-01T00:00:00Z`) because the SDKs parse SignedStart /
// SignedExpiry into dates and print them back that way as skt / ske: any other precision would make
// the SAS's fields differ from what was issued.
import { createHmac, type KeyObject } from 'node:crypto';
import type { UserDelegationKeyFields } from '../azure-wire/sas.js';

/** Azure: "The key expiry must be within seven days of the current time." */
export const USER_DELEGATION_KEY_LIFETIME_MAX_MS = 7 * 86_400_000;
const SECRET_LABEL = 'nimbus user delegation key v1';

export interface UserDelegationKey {
  signedObjectId: string;
  signedTenantId: string;
  signedStart: string;
  signedExpiry: string;
  signedService: 'b';
  signedVersion: string;
  value: string;
}

export type KeyRequestCheck = { ok: true; startMs: number; expiryMs: number } | { ok: false; node: 'Start' | 'Expiry'; reason: string };

export class UserDelegationKeys {
  readonly #secret: Buffer;

  constructor(signingKey: KeyObject) {
    const der = signingKey.export({ type: 'pkcs8', format: 'der' });
    this.#secret = createHmac('sha256', der).update(SECRET_LABEL).digest();
  }

  /** Start defaults to now; expiry must be after start, after now, and at most seven days ahead. */
  static checkRequest(request: { startMs: number | undefined; expiryMs: number }, nowMs: number): KeyRequestCheck {
    const startMs = request.startMs ?? nowMs;
    if (request.expiryMs <= startMs || request.expiryMs <= nowMs) return { ok: false, node: 'Expiry', reason: 'the expiry must be after the start and in the future' };
    if (request.expiryMs - nowMs > USER_DELEGATION_KEY_LIFETIME_MAX_MS) return { ok: false, node: 'Expiry', reason: 'the expiry must be within seven days of the current time' };
    return { ok: true, startMs, expiryMs: request.expiryMs };
  }

  issue(request: { objectId: string; tenantId: string; startMs: number; expiryMs: number; version: string }): UserDelegationKey {
    const fields: UserDelegationKeyFields = {
      signedObjectId: request.objectId,
      signedTenantId: request.tenantId,
      signedStartsOn: secondsIso(request.startMs),
      signedExpiresOn: secondsIso(request.expiryMs),
      signedService: 'b',
      signedVersion: request.version,
    };
    return {
      signedObjectId: fields.signedObjectId,
      signedTenantId: fields.signedTenantId,
      signedStart: fields.signedStartsOn,
      signedExpiry: fields.signedExpiresOn,
      signedService: 'b',
      signedVersion: fields.signedVersion,
      value: this.valueOf(fields),
    };
  }

  /** The key value for these fields: what `checkSas` needs as `userDelegationKey`. */
  valueOf(fields: UserDelegationKeyFields): string {
    const text = [
      fields.signedObjectId, fields.signedTenantId, fields.signedStartsOn, fields.signedExpiresOn, fields.signedService, fields.signedVersion,
    ].join('\n');
    return createHmac('sha256', this.#secret).update(text, 'utf8').digest('base64');
  }
}

function secondsIso(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}
