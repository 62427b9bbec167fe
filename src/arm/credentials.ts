// The management endpoint's secrets, made on first start and kept in the data dir:
//
//   arm-ca.pem          "Nimbus Development CA" certificate: what clients trust
//                       (NODE_EXTRA_CA_CERTS=<datadir>/arm-ca.pem, REQUESTS_CA_BUNDLE, `tlsOptions.ca`)
//   arm-ca-key.pem      its private key (kept so a new server certificate can be issued under the same CA)
//   arm-tls-cert.pem    server certificate for 127.0.0.1 and localhost (+ the configured host), signed by the CA
//   arm-tls-key.pem
//   arm-token-key.pem   RSA key that signs bearer tokens (RS256)
//   arm-dev-token       the static development bearer token (random, one line)
//
// Why TLS at all on a local endpoint: the Azure SDKs refuse to send bearer tokens over plain HTTP
// (spec/disks-snapshots.md §8). A private CA rather than a self-signed leaf because clients trust a CA
// once, and the server certificate can be re-issued (new host name, near expiry) without re-trusting.
//
// Certificates (certificates.ts) use ECDSA P-256, fast to make: a fresh data dir per test must start
// quickly. The token key is RSA 2048 because RS256 is what Entra ID uses and what validators expect.
// Files are written to a temporary name, then renamed, so a crash mid-write never leaves half a key.
// Dates come from the injected clock; serial numbers and keys from the platform's random source.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { createPrivateKey, generateKeyPair, X509Certificate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Clock } from '../platform/clock.js';
import { days } from '../platform/clock.js';
import { randomHex } from '../platform/ids.js';
import { createCa, createServerCertificate, type CertificateWindow } from './certificates.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export const CA_FILE = 'arm-ca.pem';
const CA_KEY_FILE = 'arm-ca-key.pem';
const CERT_FILE = 'arm-tls-cert.pem';
const KEY_FILE = 'arm-tls-key.pem';
const TOKEN_KEY_FILE = 'arm-token-key.pem';
export const DEV_TOKEN_FILE = 'arm-dev-token';

const CA_LIFETIME_MS = days(3650);
const CERT_LIFETIME_MS = days(825);
/** Re-issue the server certificate when it has less than this left. */
const CERT_RENEW_MS = days(30);

export interface ArmCredentials {
  caPath: string;
  caPem: string;
  tlsCertPem: string;
  tlsKeyPem: string;
  tokenKey: KeyObject;
  devToken: string;
  devTokenPath: string;
}

/** Loads the endpoint's secrets from `dataDir`, creating what is missing. */
export async function loadArmCredentials(dataDir: string, host: string, clock: Clock): Promise<ArmCredentials> {
  const path = (file: string) => join(dataDir, file);
  if (!existsSync(path(CA_FILE)) || !existsSync(path(CA_KEY_FILE))) {
    const ca = await createCa(windowFrom(clock, CA_LIFETIME_MS));
    writeAtomic(path(CA_KEY_FILE), ca.keyPem);
    writeAtomic(path(CA_FILE), ca.certPem);
  }
  const caPem = readFileSync(path(CA_FILE), 'utf8');
  const names = subjectNames(host);
  const current = existsSync(path(CERT_FILE)) && existsSync(path(KEY_FILE))
    ? { certPem: readFileSync(path(CERT_FILE), 'utf8'), keyPem: readFileSync(path(KEY_FILE), 'utf8') }
    : undefined;
  if (!current || !certStillGood(current, caPem, names, clock)) {
    const caKey = createPrivateKey(readFileSync(path(CA_KEY_FILE), 'utf8'));
    const leaf = await createServerCertificate({ certPem: caPem, key: caKey }, names, windowFrom(clock, CERT_LIFETIME_MS));
    writeAtomic(path(KEY_FILE), leaf.keyPem);
    writeAtomic(path(CERT_FILE), leaf.certPem);
  }
  if (!existsSync(path(TOKEN_KEY_FILE))) {
    const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
    writeAtomic(path(TOKEN_KEY_FILE), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  }
  if (!existsSync(path(DEV_TOKEN_FILE))) writeAtomic(path(DEV_TOKEN_FILE), `nimbus-dev-${randomHex(24)}\n`);
  return {
    caPath: path(CA_FILE),
    caPem,
    tlsCertPem: readFileSync(path(CERT_FILE), 'utf8'),
    tlsKeyPem: readFileSync(path(KEY_FILE), 'utf8'),
    tokenKey: createPrivateKey(readFileSync(path(TOKEN_KEY_FILE), 'utf8')),
    devToken: readFileSync(path(DEV_TOKEN_FILE), 'utf8').trim(),
    devTokenPath: path(DEV_TOKEN_FILE),
  };
}

interface SubjectNames {
  ips: string[];
  dns: string[];
}

function subjectNames(host: string): SubjectNames {
  const ips = new Set(['127.0.0.1']);
  const dns = new Set(['localhost']);
  const wildcard = host === '0.0.0.0' || host === '::';
  if (!wildcard && isIP(host)) ips.add(host);
  else if (!wildcard) dns.add(host.toLowerCase());
  return { ips: [...ips], dns: [...dns] };
}

/** Valid from a day ago (tolerates clients whose clocks lag) for `lifetimeMs`. */
function windowFrom(clock: Clock, lifetimeMs: number): CertificateWindow {
  const now = clock.nowMs();
  return { notBeforeMs: now - days(1), notAfterMs: now + lifetimeMs, serialHex: serial() };
}

/**
 * Still valid for a while, issued by the current CA, paired with the key beside it (a crash between
 * the two renames can leave a new key with an old certificate), and covering every name served.
 */
function certStillGood(current: { certPem: string; keyPem: string }, caPem: string, names: SubjectNames, clock: Clock): boolean {
  const cert = new X509Certificate(current.certPem);
  const ca = new X509Certificate(caPem);
  if (Date.parse(cert.validTo) - clock.nowMs() < CERT_RENEW_MS) return false;
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey) || !cert.checkPrivateKey(createPrivateKey(current.keyPem))) return false;
  return names.ips.every((ip) => cert.checkIP(ip) !== undefined) && names.dns.every((name) => cert.checkHost(name) !== undefined);
}

/** Positive 128-bit serial (a leading 0x01 byte keeps the DER integer positive). */
function serial(): string {
  return `01${randomHex(15)}`;
}

function writeAtomic(path: string, content: string): void {
  const temporary = `${path}.tmp-${randomHex(4)}`;
  writeFileSync(temporary, content, { mode: 0o600 });
  renameSync(temporary, path);
}
