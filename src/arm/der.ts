// The few DER (ITU-T X.690) encodings a self-signed X.509 certificate needs, and a reader that walks
// one level of a SEQUENCE. Written here instead of importing an ASN.1 library: the library cost the
// server about 6 MiB of resident memory for the whole process lifetime, to build two certificates once.
//
//   TLV:  [ tag ][ length ][ value ]      length < 128: one byte; else 0x80|n, then n big-endian bytes
//
// Only definite lengths, low tag numbers (< 31) and the universal types below are supported; that is
// all RFC 5280 certificates with ECDSA keys use.

const Tag = {
  Boolean: 0x01,
  Integer: 0x02,
  BitString: 0x03,
  OctetString: 0x04,
  Oid: 0x06,
  Utf8String: 0x0c,
  UtcTime: 0x17,
  GeneralizedTime: 0x18,
  Sequence: 0x30,
  Set: 0x31,
} as const;

export function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);
}

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function sequence(...items: Buffer[]): Buffer {
  return tlv(Tag.Sequence, Buffer.concat(items));
}

export function set(...items: Buffer[]): Buffer {
  return tlv(Tag.Set, Buffer.concat(items));
}

/** Context-specific tag [n]: constructed for EXPLICIT wrapping, primitive for IMPLICIT strings. */
export function contextTag(n: number, value: Buffer, constructed: boolean): Buffer {
  return tlv((constructed ? 0xa0 : 0x80) | n, value);
}

export function boolean(value: boolean): Buffer {
  return tlv(Tag.Boolean, Buffer.from([value ? 0xff : 0x00]));
}

/** A non-negative INTEGER from its big-endian magnitude (a 0x00 is prefixed when the top bit is set). */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return tlv(Tag.Integer, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export function smallInteger(value: number): Buffer {
  return unsignedInteger(Buffer.from([value]));
}

export function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) groups.unshift((value & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return tlv(Tag.Oid, Buffer.from(bytes));
}

export function octetString(value: Buffer): Buffer {
  return tlv(Tag.OctetString, value);
}

export function utf8String(value: string): Buffer {
  return tlv(Tag.Utf8String, Buffer.from(value, 'utf8'));
}

/** A BIT STRING holding whole bytes (keys, signatures). */
export function bitString(bytes: Buffer): Buffer {
  return tlv(Tag.BitString, Buffer.concat([Buffer.from([0]), bytes]));
}

/**
 * A named-bit BIT STRING (X.690 §11.2.2: trailing zero bits dropped). Bit 0 is the most significant
 * bit of the first byte, as RFC 5280 numbers KeyUsage (digitalSignature(0) … cRLSign(6)).
 */
export function namedBits(bits: readonly number[]): Buffer {
  const last = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(last / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  return tlv(Tag.BitString, Buffer.concat([Buffer.from([7 - (last & 7)]), bytes]));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
export function time(ms: number): Buffer {
  const iso = new Date(ms).toISOString(); // 2026-11-23T17:02:18.000Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, ''); // 20261123170218
  const year = Number(iso.slice(0, 4));
  return year < 2050
    ? tlv(Tag.UtcTime, Buffer.from(`${digits.slice(2)}Z`, 'latin1'))
    : tlv(Tag.GeneralizedTime, Buffer.from(`${digits}Z`, 'latin1'));
}

/** The complete TLVs (tag and length included) directly inside the SEQUENCE or SET that `der` starts with. */
export function children(der: Buffer): Buffer[] {
  const outer = readTlv(der, 0);
  const out: Buffer[] = [];
  for (let at = outer.valueStart; at < outer.end;) {
    const child = readTlv(der, at);
    out.push(der.subarray(at, child.end));
    at = child.end;
  }
  return out;
}

/** The value bytes of the TLV that `der` starts with. */
export function valueOf(der: Buffer): Buffer {
  const { valueStart, end } = readTlv(der, 0);
  return der.subarray(valueStart, end);
}

function readTlv(der: Buffer, at: number): { valueStart: number; end: number } {
  const first = der[at + 1];
  if (first === undefined) throw new Error(`DER truncated at ${at}`);
  let length = first;
  let valueStart = at + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[at + 2 + i] ?? 0);
    valueStart += count;
  }
  const end = valueStart + length;
  if (end > der.length) throw new Error(`DER length past the end at ${at}`);
  return { valueStart, end };
}
