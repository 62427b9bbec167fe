// The management endpoint's certificates, encoded by hand (src/arm/der.ts): what TLS clients check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createCa, createServerCertificate, ipBytes } from '../src/arm/certificates.js';

const DAY_MS = 86_400_000;

test('the CA signs a server certificate that names every IP and host, and TLS-style checks accept it', async () => {
  // Goal: the hand-written DER is what X.509 validators expect. Method: node:crypto's (OpenSSL's) own checks.
  const now = Date.UTC(2026, 10, 23);
  const ca = await createCa({ notBeforeMs: now - DAY_MS, notAfterMs: now + 3650 * DAY_MS, serialHex: '01ff00' });
  const leaf = await createServerCertificate(
    { certPem: ca.certPem, key: createPrivateKey(ca.keyPem) },
    { ips: ['127.0.0.1', '::1', '::ffff:10.0.0.1'], dns: ['localhost', 'nimbus.test'] },
    { notBeforeMs: now - DAY_MS, notAfterMs: now + 825 * DAY_MS, serialHex: '01a1b2c3d4e5f60718293a4b5c6d7e8f' },
  );
  const caCert = new X509Certificate(ca.certPem);
  const cert = new X509Certificate(leaf.certPem);
  assert.equal(caCert.ca, true);
  assert.equal(caCert.subject, 'O=Nimbus\nCN=Nimbus Development CA');
  assert.ok(caCert.verify(caCert.publicKey), 'the CA is self-signed');
  assert.equal(cert.ca, false);
  assert.equal(cert.issuer, caCert.subject);
  assert.ok(cert.checkIssued(caCert) && cert.verify(caCert.publicKey), 'the leaf is signed by the CA');
  assert.ok(cert.checkPrivateKey(createPrivateKey(leaf.keyPem)));
  for (const ip of ['127.0.0.1', '::1', '::ffff:10.0.0.1']) assert.equal(cert.checkIP(ip), ip);
  assert.equal(cert.checkHost('nimbus.test'), 'nimbus.test');
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.equal(cert.serialNumber.toLowerCase(), '01a1b2c3d4e5f60718293a4b5c6d7e8f');
  assert.equal(new Date(cert.validTo).getTime(), now + 825 * DAY_MS);
});

test('validity past 2049 is a GeneralizedTime, and IPv6 forms encode to 16 bytes', async () => {
  const ca = await createCa({ notBeforeMs: Date.UTC(2049, 11, 31), notAfterMs: Date.UTC(2060, 0, 2, 3, 4, 5), serialHex: '01' });
  const caCert = new X509Certificate(ca.certPem);
  assert.equal(new Date(caCert.validFrom).getTime(), Date.UTC(2049, 11, 31));
  assert.equal(new Date(caCert.validTo).getTime(), Date.UTC(2060, 0, 2, 3, 4, 5));
  assert.equal(ipBytes('10.1.2.3').toString('hex'), '0a010203');
  assert.equal(ipBytes('::1').toString('hex'), '00000000000000000000000000000001');
  assert.equal(ipBytes('fe80::1:2').toString('hex'), 'fe800000000000000000000000010002');
  assert.equal(ipBytes('::ffff:10.0.0.1').toString('hex'), '00000000000000000000ffff0a000001');
  assert.equal(ipBytes('2001:db8:0:0:0:0:0:7').toString('hex'), '20010db8000000000000000000000007');
});
