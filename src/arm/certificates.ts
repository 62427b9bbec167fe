// X.509 certificates for the management endpoint's TLS: a development CA and server certificates it
// signs. Encoded with the small DER writer in der.ts and signed with node:crypto, so nothing outside
// Node is needed (no openssl). Rejected: an ASN.1 library (@peculiar/asn1-x509, used before) — loading
// it kept about 6 MiB resident in the server for its whole life, to build two certificates once.
//
// Keys are ECDSA P-256 and signatures ecdsa-with-SHA256: fast to make, which matters because every test
// starts a fresh data dir. What each certificate carries (RFC 5280 §4.1, §4.2.1):
//
//   CA       subject O=Nimbus, CN=Nimbus Development CA; basicConstraints CA:true pathlen 0 (critical);
//            keyUsage keyCertSign|cRLSign (critical); subjectKeyIdentifier
//   server   subject O=Nimbus, CN=<first IP>; basicConstraints CA:false (critical);
//            keyUsage digitalSignature|keyEncipherment (critical); extKeyUsage serverAuth;
//            subjectAltName IPs + DNS names; authorityKeyIdentifier
//
//   Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
//   TBSCertificate ::= SEQUENCE { [0] version v3, serialNumber, signature, issuer, validity, subject,
//                                 subjectPublicKeyInfo, [3] extensions }
import { createHash, createPublicKey, generateKeyPair, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { promisify } from 'node:util';
import {
  bitString, boolean, children, contextTag, namedBits, octetString, oid, sequence, set, smallInteger, time,
  unsignedInteger, utf8String, valueOf,
} from './der.js';

const generateKeyPairAsync = promisify(generateKeyPair);

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

/** KeyUsage bit numbers (RFC 5280 §4.2.1.3). */
const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

/** TBSCertificate's children: version, serialNumber, signature, issuer, validity, subject, ... */
const SUBJECT_INDEX = 5;

export interface Issued {
  certPem: string;
  keyPem: string;
}

export interface CertificateWindow {
  notBeforeMs: number;
  notAfterMs: number;
  /** Positive serial number, hex. */
  serialHex: string;
}

export async function createCa(window: CertificateWindow): Promise<Issued> {
  const { publicKey, privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  const spki = spkiOf(publicKey);
  const name = distinguishedName('Nimbus Development CA');
  const der = signCertificate({
    window, subject: name, issuer: name, spki, signingKey: privateKey,
    extensions: [
      extension(OID.basicConstraints, true, sequence(boolean(true), smallInteger(0))),
      extension(OID.keyUsage, true, namedBits([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
      extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spki))),
    ],
  });
  return { certPem: pem('CERTIFICATE', der), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

export async function createServerCertificate(
  ca: { certPem: string; key: KeyObject },
  names: { ips: readonly string[]; dns: readonly string[] },
  window: CertificateWindow,
): Promise<Issued> {
  const { publicKey, privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  // The issuer is the CA's subject byte for byte, as the CA certificate encodes it.
  const caSubject = children(children(new X509Certificate(ca.certPem).raw)[0] ?? Buffer.alloc(0))[SUBJECT_INDEX];
  if (!caSubject) throw new Error('CA certificate has no subject');
  const altNames = [
    ...names.ips.map((ip) => contextTag(7, ipBytes(ip), false)), // iPAddress [7] IMPLICIT OCTET STRING
    ...names.dns.map((dns) => contextTag(2, Buffer.from(dns, 'latin1'), false)), // dNSName [2] IMPLICIT IA5String
  ];
  const der = signCertificate({
    window, subject: distinguishedName(names.ips[0] ?? names.dns[0] ?? 'localhost'), issuer: caSubject,
    spki: spkiOf(publicKey), signingKey: ca.key,
    extensions: [
      extension(OID.basicConstraints, true, sequence()), // cA FALSE is the DEFAULT, so DER omits it
      extension(OID.keyUsage, true, namedBits([KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment])),
      extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
      extension(OID.subjectAltName, false, sequence(...altNames)),
      extension(OID.authorityKeyIdentifier, false, sequence(contextTag(0, keyIdentifier(spkiOf(createPublicKey(ca.key))), false))),
    ],
  });
  return { certPem: pem('CERTIFICATE', der), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

interface CertificateParts {
  window: CertificateWindow;
  /** DER Names. */
  subject: Buffer;
  issuer: Buffer;
  /** DER SubjectPublicKeyInfo, as node:crypto exports it. */
  spki: Buffer;
  signingKey: KeyObject;
  extensions: Buffer[];
}

function signCertificate(parts: CertificateParts): Buffer {
  const algorithm = sequence(oid(OID.ecdsaWithSha256)); // ECDSA algorithm identifiers have no parameters
  const tbs = sequence(
    contextTag(0, smallInteger(2), true), // version v3
    unsignedInteger(Buffer.from(parts.window.serialHex, 'hex')),
    algorithm,
    parts.issuer,
    sequence(time(parts.window.notBeforeMs), time(parts.window.notAfterMs)),
    parts.subject,
    parts.spki,
    contextTag(3, sequence(...parts.extensions), true),
  );
  // node:crypto's ECDSA signatures are DER-encoded Ecdsa-Sig-Value, which is what X.509 carries.
  return sequence(tbs, algorithm, bitString(sign('sha256', tbs, parts.signingKey)));
}

function distinguishedName(commonName: string): Buffer {
  const attribute = (type: string, value: string) => set(sequence(oid(type), utf8String(value)));
  return sequence(attribute(OID.organization, 'Nimbus'), attribute(OID.commonName, commonName));
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
function extension(extnId: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(extnId), boolean(true), octetString(value)) : sequence(oid(extnId), octetString(value));
}

function spkiOf(publicKey: KeyObject): Buffer {
  return publicKey.export({ type: 'spki', format: 'der' });
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits (the BIT STRING without its unused-bits byte). */
function keyIdentifier(spki: Buffer): Buffer {
  const subjectPublicKey = children(spki)[1];
  if (!subjectPublicKey) throw new Error('SubjectPublicKeyInfo without a key');
  return createHash('sha1').update(valueOf(subjectPublicKey).subarray(1)).digest();
}

/** An IPv4 (4 bytes) or IPv6 (16 bytes, `::` expanded, a trailing dotted quad allowed) address. */
export function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  let text = ip.replace(/%.*$/, '');
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const split = (part: string) => (part === '' ? [] : part.split(':'));
  const groups = tail === undefined
    ? split(head)
    : [...split(head), ...Array<string>(8 - split(head).length - split(tail).length).fill('0'), ...split(tail)];
  const out = Buffer.alloc(16);
  groups.forEach((group, index) => out.writeUInt16BE(parseInt(group, 16), index * 2));
  return out;
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
