// X.509 certificates for the management endpoint's TLS: a development CA and server certificates it
// signs. Built from ASN.1 structures (@peculiar/asn1-x509, pure JS) and signed with node:crypto, so
// nothing outside npm is needed (no openssl) and no global polyfill is installed (@peculiar/x509 needs
// reflect-metadata, which patches the global Reflect).
//
// Keys are ECDSA P-256 and signatures ecdsa-with-SHA256: fast to make, which matters because every test
// starts a fresh data dir. What each certificate carries:
//
//   CA       subject CN=Nimbus Development CA; basicConstraints CA:true pathlen 0 (critical);
//            keyUsage keyCertSign|cRLSign (critical); subjectKeyIdentifier
//   server   subject CN=<first IP>; basicConstraints CA:false; keyUsage digitalSignature|keyEncipherment;
//            extKeyUsage serverAuth; subjectAltName IPs + DNS names; authorityKeyIdentifier
import { createHash, createPublicKey, generateKeyPair, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as asn from '@peculiar/asn1-x509';

const generateKeyPairAsync = promisify(generateKeyPair);

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';
const ORGANIZATION = '2.5.4.10';

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
      extension(asn.id_ce_basicConstraints, true, new asn.BasicConstraints({ cA: true, pathLenConstraint: 0 })),
      extension(asn.id_ce_keyUsage, true, new asn.KeyUsage(asn.KeyUsageFlags.keyCertSign | asn.KeyUsageFlags.cRLSign)),
      extension(asn.id_ce_subjectKeyIdentifier, false, new asn.SubjectKeyIdentifier(keyIdentifier(spki))),
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
  const caCert = AsnConvert.parse(new X509Certificate(ca.certPem).raw, asn.Certificate);
  const caSpki = spkiOf(createPublicKey(ca.key));
  const altNames = [
    ...names.ips.map((iPAddress) => new asn.GeneralName({ iPAddress })),
    ...names.dns.map((dNSName) => new asn.GeneralName({ dNSName })),
  ];
  const der = signCertificate({
    window, subject: distinguishedName(names.ips[0] ?? names.dns[0] ?? 'localhost'), issuer: caCert.tbsCertificate.subject,
    spki: spkiOf(publicKey), signingKey: ca.key,
    extensions: [
      extension(asn.id_ce_basicConstraints, true, new asn.BasicConstraints({ cA: false })),
      extension(asn.id_ce_keyUsage, true, new asn.KeyUsage(asn.KeyUsageFlags.digitalSignature | asn.KeyUsageFlags.keyEncipherment)),
      extension(asn.id_ce_extKeyUsage, false, new asn.ExtendedKeyUsage([asn.id_kp_serverAuth])),
      extension(asn.id_ce_subjectAltName, false, new asn.SubjectAlternativeName(altNames)),
      extension(asn.id_ce_authorityKeyIdentifier, false, new asn.AuthorityKeyIdentifier({ keyIdentifier: new asn.KeyIdentifier(keyIdentifier(caSpki)) })),
    ],
  });
  return { certPem: pem('CERTIFICATE', der), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

interface CertificateParts {
  window: CertificateWindow;
  subject: asn.Name;
  issuer: asn.Name;
  spki: asn.SubjectPublicKeyInfo;
  signingKey: KeyObject;
  extensions: asn.Extension[];
}

function signCertificate(parts: CertificateParts): Buffer {
  const algorithm = new asn.AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
  const tbsCertificate = new asn.TBSCertificate({
    version: asn.Version.v3,
    serialNumber: toArrayBuffer(Buffer.from(parts.window.serialHex, 'hex')),
    signature: algorithm,
    issuer: parts.issuer,
    validity: new asn.Validity({ notBefore: new Date(parts.window.notBeforeMs), notAfter: new Date(parts.window.notAfterMs) }),
    subject: parts.subject,
    subjectPublicKeyInfo: parts.spki,
    extensions: new asn.Extensions(parts.extensions),
  });
  const tbs = Buffer.from(AsnConvert.serialize(tbsCertificate));
  // node:crypto's ECDSA signatures are DER-encoded Ecdsa-Sig-Value, which is what X.509 carries.
  const signatureValue = toArrayBuffer(sign('sha256', tbs, parts.signingKey));
  return Buffer.from(AsnConvert.serialize(new asn.Certificate({ tbsCertificate, signatureAlgorithm: algorithm, signatureValue })));
}

function distinguishedName(commonName: string): asn.Name {
  const attribute = (type: string, value: string) =>
    new asn.RelativeDistinguishedName([new asn.AttributeTypeAndValue({ type, value: new asn.AttributeValue({ utf8String: value }) })]);
  return new asn.Name([attribute(ORGANIZATION, 'Nimbus'), attribute(COMMON_NAME, commonName)]);
}

function extension(extnID: string, critical: boolean, value: object): asn.Extension {
  return new asn.Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

function spkiOf(publicKey: KeyObject): asn.SubjectPublicKeyInfo {
  return AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), asn.SubjectPublicKeyInfo);
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: asn.SubjectPublicKeyInfo): ArrayBuffer {
  return toArrayBuffer(createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest());
}

function toArrayBuffer(buffer: Buffer): ArrayBuffer {
  const copy = new ArrayBuffer(buffer.length);
  new Uint8Array(copy).set(buffer);
  return copy;
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
