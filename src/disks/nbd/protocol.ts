// NBD wire constants and the fixed-size records of the protocol, big-endian throughout.
// Source: doc/proto.md of NetworkBlockDevice/nbd; what QEMU 7.2 sends is in
// ../shared/spec/compute-notes.md §3. Only what this server speaks is listed: fixed newstyle
// negotiation, simple replies (no structured replies, no meta contexts, no TLS).
//
//   handshake  S: NBDMAGIC u64 | IHAVEOPT u64 | u16 handshake flags      C: u32 client flags
//   option     C: IHAVEOPT u64 | u32 option | u32 length | data
//   reply      S: OPT_REPLY_MAGIC u64 | u32 option | u32 reply type | u32 length | data
//   request    C: REQUEST_MAGIC u32 | u16 flags | u16 type | u64 cookie | u64 offset | u32 length [| data]
//   reply      S: SIMPLE_REPLY_MAGIC u32 | u32 errno | u64 cookie [| data for a successful READ]

export const NBD_MAGIC = 0x4e42444d41474943n;
export const IHAVEOPT = 0x49484156454f5054n;
export const OPT_REPLY_MAGIC = 0x3e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;

export const HANDSHAKE_FIXED_NEWSTYLE = 1;
export const HANDSHAKE_NO_ZEROES = 2;
export const CLIENT_FLAGS_KNOWN = HANDSHAKE_FIXED_NEWSTYLE | HANDSHAKE_NO_ZEROES;

export const OPT = {
  EXPORT_NAME: 1,
  ABORT: 2,
  LIST: 3,
  STARTTLS: 5,
  INFO: 6,
  GO: 7,
  STRUCTURED_REPLY: 8,
} as const;

export const REP = {
  ACK: 1,
  SERVER: 2,
  INFO: 3,
  ERR_UNSUP: 2 ** 31 + 1,
  ERR_POLICY: 2 ** 31 + 2,
  ERR_INVALID: 2 ** 31 + 3,
  ERR_UNKNOWN: 2 ** 31 + 6,
} as const;

export const INFO = { EXPORT: 0, NAME: 1, DESCRIPTION: 2, BLOCK_SIZE: 3 } as const;

export const FLAG = {
  HAS_FLAGS: 1,
  READ_ONLY: 2,
  SEND_FLUSH: 4,
  SEND_FUA: 8,
  SEND_TRIM: 32,
  SEND_WRITE_ZEROES: 64,
} as const;

export const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, CACHE: 5, WRITE_ZEROES: 6, BLOCK_STATUS: 7 } as const;
export const CMD_FLAG = { FUA: 1, NO_HOLE: 2 } as const;

export const ERRNO = { OK: 0, EPERM: 1, EIO: 5, ENOMEM: 12, EINVAL: 22, ENOSPC: 28, ENOTSUP: 95 } as const;
export type Errno = (typeof ERRNO)[keyof typeof ERRNO];

/** Option payloads larger than this are refused (names are ≤ 4 KiB by the spec). */
export const OPTION_BYTES_MAX = 64 * 1024;
/** The largest READ or WRITE payload accepted; advertised through NBD_INFO_BLOCK_SIZE. */
export const PAYLOAD_BYTES_MAX = 32 * 1024 * 1024;
export const PREFERRED_BLOCK_BYTES = 4096;

export interface NbdRequest {
  flags: number;
  type: number;
  cookie: bigint;
  offset: number;
  length: number;
}

export const REQUEST_HEADER_BYTES = 28;
export const OPTION_HEADER_BYTES = 16;

export function serverGreeting(): Buffer {
  const b = Buffer.alloc(18);
  b.writeBigUInt64BE(NBD_MAGIC, 0);
  b.writeBigUInt64BE(IHAVEOPT, 8);
  b.writeUInt16BE(HANDSHAKE_FIXED_NEWSTYLE | HANDSHAKE_NO_ZEROES, 16);
  return b;
}

export function optionReply(option: number, type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(20);
  b.writeBigUInt64BE(OPT_REPLY_MAGIC, 0);
  b.writeUInt32BE(option, 8);
  b.writeUInt32BE(type, 12);
  b.writeUInt32BE(data.length, 16);
  return Buffer.concat([b, data]);
}

export function infoExport(sizeBytes: number, transmissionFlags: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(INFO.EXPORT, 0);
  b.writeBigUInt64BE(BigInt(sizeBytes), 2);
  b.writeUInt16BE(transmissionFlags, 10);
  return b;
}

/** Minimum 1: any byte alignment is served (boundary pages are read-modify-written). */
export function infoBlockSize(): Buffer {
  const b = Buffer.alloc(14);
  b.writeUInt16BE(INFO.BLOCK_SIZE, 0);
  b.writeUInt32BE(1, 2);
  b.writeUInt32BE(PREFERRED_BLOCK_BYTES, 6);
  b.writeUInt32BE(PAYLOAD_BYTES_MAX, 10);
  return b;
}

/** The reply to the legacy NBD_OPT_EXPORT_NAME: no reply header, 124 zero bytes unless NO_ZEROES. */
export function exportNameReply(sizeBytes: number, transmissionFlags: number, noZeroes: boolean): Buffer {
  const b = Buffer.alloc(noZeroes ? 10 : 134);
  b.writeBigUInt64BE(BigInt(sizeBytes), 0);
  b.writeUInt16BE(transmissionFlags, 8);
  return b;
}

export function serverEntry(name: string): Buffer {
  const encoded = Buffer.from(name, 'utf8');
  const b = Buffer.alloc(4);
  b.writeUInt32BE(encoded.length, 0);
  return Buffer.concat([b, encoded]);
}

export function simpleReply(errno: Errno, cookie: bigint): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
  b.writeUInt32BE(errno, 4);
  b.writeBigUInt64BE(cookie, 8);
  return b;
}

/** Undefined when the magic is wrong (the connection is then unusable). */
export function parseRequest(header: Buffer): NbdRequest | undefined {
  if (header.readUInt32BE(0) !== REQUEST_MAGIC) return undefined;
  const offset = header.readBigUInt64BE(16);
  return {
    flags: header.readUInt16BE(4),
    type: header.readUInt16BE(6),
    cookie: header.readBigUInt64BE(8),
    // Offsets past 2^53 cannot address a page object; clamp so range checks reject them.
    offset: offset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(offset),
    length: header.readUInt32BE(24),
  };
}

export type GoRequest = { name: string; infoRequests: number[] };

/** The data of NBD_OPT_INFO / NBD_OPT_GO; undefined when its lengths do not add up. */
export function parseGoData(data: Buffer): GoRequest | undefined {
  if (data.length < 6) return undefined;
  const nameBytes = data.readUInt32BE(0);
  if (4 + nameBytes + 2 > data.length) return undefined;
  const name = data.subarray(4, 4 + nameBytes).toString('utf8');
  const count = data.readUInt16BE(4 + nameBytes);
  const listAt = 4 + nameBytes + 2;
  if (listAt + count * 2 !== data.length) return undefined;
  const infoRequests: number[] = [];
  for (let i = 0; i < count; i++) infoRequests.push(data.readUInt16BE(listAt + i * 2));
  return { name, infoRequests };
}
