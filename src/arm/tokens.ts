// The token issuer's core: who may get a token (service principals), minting JWTs, and checking them.
// Owns the signing key (RS256, so the blob endpoint can later verify tokens with the public key alone)
// and the static development token. Both live in the data dir (see credentials.ts); the HTTP side of
// the issuer (token endpoint, OpenID metadata) is oauth.ts.
//
// A token is a JWT like the ones Microsoft Entra ID issues for the client credentials grant:
//   header  { alg: RS256, typ: JWT, kid: <RFC 7638 thumbprint of the key> }
//   claims  { aud, iss: <issuer base>/<tenant>/v2.0, iat, nbf, exp (1 h), tid, appid, azp, oid, sub,
//             idtyp: app, ver: 2.0, uti }
// `aud` is the scope the client asked for without `/.default` (`https://management.azure.com/.default`
// → `https://management.azure.com`), as Entra ID does; each endpoint says which audiences it accepts.
//
// Invariants: times come from the injected clock; secrets and tokens are compared in constant time;
// a token that fails any check is rejected with the reason, never partly trusted.
import { createHash, createPublicKey, sign, timingSafeEqual, verify, type KeyObject, type JsonWebKey } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { newGuid } from '../platform/ids.js';

export const TOKEN_LIFETIME_SEC = 3600;
/** Tolerated difference between Nimbus's clock and the client's, as Entra ID allows (5 minutes). */
const CLOCK_SKEW_SEC = 300;

export interface ServicePrincipal {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

export interface TokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  tid: string;
  appid: string;
  azp: string;
  oid: string;
  sub: string;
  idtyp: 'app';
  ver: '2.0';
  /** Unique token id. */
  uti: string;
}

export type Caller =
  | { kind: 'principal'; claims: TokenClaims }
  | { kind: 'dev-token' };

export type VerifyResult =
  | { ok: true; caller: Caller }
  | { ok: false; reason: 'malformed' | 'signature' | 'expired' | 'not-yet-valid' | 'audience'; audience?: string };

export type IssueResult =
  | { ok: true; accessToken: string; expiresInSec: number }
  | { ok: false; error: 'invalid_client' | 'unauthorized_client'; description: string };

export interface TokenIssuerDeps {
  signingKey: KeyObject;
  devToken: string;
  principals: readonly ServicePrincipal[];
  clock: Clock;
}

export class TokenIssuer {
  readonly #publicJwk: JsonWebKey;
  readonly #kid: string;

  constructor(private readonly deps: TokenIssuerDeps) {
    this.#publicJwk = createPublicKey(deps.signingKey).export({ format: 'jwk' });
    this.#kid = thumbprint(this.#publicJwk);
  }

  /** The JWKS document (`keys`) that verifies Nimbus tokens. */
  jwks(): { keys: JsonWebKey[] } {
    return { keys: [{ ...this.#publicJwk, kid: this.#kid, use: 'sig', alg: 'RS256' }] };
  }

  /** Client credentials grant: checks the principal, then mints a token for `audience`. */
  issue(request: { tenantId: string; clientId: string; clientSecret: string; audience: string; issuerBase: string }): IssueResult {
    const principal = this.deps.principals.find((p) => p.clientId.toLowerCase() === request.clientId.toLowerCase());
    if (!principal) {
      return { ok: false, error: 'unauthorized_client', description: `AADSTS700016: Application with identifier '${request.clientId}' was not found in the directory '${request.tenantId}'.` };
    }
    if (principal.tenantId.toLowerCase() !== request.tenantId.toLowerCase()) {
      return { ok: false, error: 'unauthorized_client', description: `AADSTS700016: Application with identifier '${request.clientId}' was not found in the directory '${request.tenantId}'.` };
    }
    if (!sameSecret(principal.clientSecret, request.clientSecret)) {
      return { ok: false, error: 'invalid_client', description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${principal.clientId}'.` };
    }
    const nowSec = Math.floor(this.deps.clock.nowMs() / 1000);
    const tenantId = principal.tenantId;
    const claims: TokenClaims = {
      aud: request.audience, iss: `${request.issuerBase}/${tenantId}/v2.0`, iat: nowSec, nbf: nowSec,
      exp: nowSec + TOKEN_LIFETIME_SEC, tid: tenantId, appid: principal.clientId, azp: principal.clientId,
      oid: principal.clientId, sub: principal.clientId, idtyp: 'app', ver: '2.0', uti: newGuid(),
    };
    return { ok: true, accessToken: this.#sign(claims), expiresInSec: TOKEN_LIFETIME_SEC };
  }

  /** Checks a bearer token: the development token, or a Nimbus JWT for one of `audiences`. */
  verify(token: string, audiences: ReadonlySet<string>): VerifyResult {
    if (sameSecret(this.deps.devToken, token)) return { ok: true, caller: { kind: 'dev-token' } };
    const parts = token.split('.');
    const [head, body, signature] = parts;
    if (parts.length !== 3 || head === undefined || body === undefined || signature === undefined) return { ok: false, reason: 'malformed' };
    const header = parseSegment(head);
    if (header?.alg !== 'RS256') return { ok: false, reason: 'malformed' };
    const valid = verify('RSA-SHA256', Buffer.from(`${head}.${body}`), this.deps.signingKey, Buffer.from(signature, 'base64url'));
    if (!valid) return { ok: false, reason: 'signature' };
    const claims = parseSegment(body) as TokenClaims | undefined;
    if (!claims || typeof claims.exp !== 'number' || typeof claims.nbf !== 'number') return { ok: false, reason: 'malformed' };
    const nowSec = this.deps.clock.nowMs() / 1000;
    if (nowSec > claims.exp + CLOCK_SKEW_SEC) return { ok: false, reason: 'expired' };
    if (nowSec < claims.nbf - CLOCK_SKEW_SEC) return { ok: false, reason: 'not-yet-valid' };
    if (!audiences.has(claims.aud)) return { ok: false, reason: 'audience', audience: String(claims.aud) };
    return { ok: true, caller: { kind: 'principal', claims } };
  }

  #sign(claims: TokenClaims): string {
    const header = { alg: 'RS256', typ: 'JWT', kid: this.#kid };
    const signingInput = `${segment(header)}.${segment(claims)}`;
    const signature = sign('RSA-SHA256', Buffer.from(signingInput), this.deps.signingKey);
    return `${signingInput}.${signature.toString('base64url')}`;
  }
}

function segment(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function parseSegment(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** RFC 7638 JWK thumbprint of an RSA public key. */
function thumbprint(jwk: JsonWebKey): string {
  const canonical = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  return createHash('sha256').update(canonical).digest('base64url');
}

function sameSecret(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}
