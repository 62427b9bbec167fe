// The fixed-newstyle option haggling, from the greeting to the start of transmission.
//
//   S greeting ─► C client flags ─► loop { C option ─► S reply(ies) } ─► GO/EXPORT_NAME ─► transmission
//
//   EXPORT_NAME  legacy: no error possible, so an unknown or refused export closes the connection
//   INFO / GO    REP_INFO(EXPORT[, BLOCK_SIZE]) + ACK; GO then starts transmission. Unknown export
//                → ERR_UNKNOWN; a second writer → ERR_POLICY (with a message QEMU prints)
//   LIST         one REP_SERVER per name, then ACK
//   ABORT        ACK, then the connection ends
//   anything else (STRUCTURED_REPLY, STARTTLS, meta contexts) → ERR_UNSUP: QEMU 7.2 then falls back
//   to simple replies.
import type { Socket } from 'node:net';
import type { ByteReader } from './byte-reader.js';
import { READ_ONLY_PREFIX, isRefusal, parseExportName, type NbdExports, type WriterLocks } from './exports.js';
import {
  CLIENT_FLAGS_KNOWN, FLAG, HANDSHAKE_NO_ZEROES, IHAVEOPT, INFO, OPT, OPTION_BYTES_MAX, OPTION_HEADER_BYTES, REP,
  exportNameReply, infoBlockSize, infoExport, optionReply, parseGoData, serverEntry, serverGreeting,
} from './protocol.js';
import { PageDevice, type PageDeviceDeps } from './page-device.js';

export interface Session {
  /** The export name as the client sent it (with any "ro/" prefix). */
  exportName: string;
  device: PageDevice;
  /** Releases the export and the writer lock; idempotent. */
  close(): void;
}

export interface HandshakeContext {
  exports: NbdExports;
  locks: WriterLocks;
  device: PageDeviceDeps;
}

type Opened = { kind: 'open'; session: Session } | { kind: 'unknown' } | { kind: 'refused'; reason: string };

export function transmissionFlags(readOnly: boolean): number {
  const base = FLAG.HAS_FLAGS | FLAG.SEND_FLUSH;
  return readOnly ? base | FLAG.READ_ONLY : base | FLAG.SEND_FUA | FLAG.SEND_TRIM | FLAG.SEND_WRITE_ZEROES;
}

/** Runs the option loop. Resolves with the session to serve, or undefined when the client left. */
export async function negotiate(socket: Socket, reader: ByteReader, ctx: HandshakeContext): Promise<Session | undefined> {
  socket.write(serverGreeting());
  const clientFlags = (await reader.read(4)).readUInt32BE(0);
  if ((clientFlags & ~CLIENT_FLAGS_KNOWN) !== 0) return undefined;
  const noZeroes = (clientFlags & HANDSHAKE_NO_ZEROES) !== 0;
  for (;;) {
    const header = await reader.read(OPTION_HEADER_BYTES);
    if (header.readBigUInt64BE(0) !== IHAVEOPT) return undefined;
    const option = header.readUInt32BE(8);
    const length = header.readUInt32BE(12);
    if (length > OPTION_BYTES_MAX) {
      await reader.skip(length);
      socket.write(optionReply(option, REP.ERR_INVALID, Buffer.from('option data too long')));
      continue;
    }
    const data = await reader.read(length);
    switch (option) {
      case OPT.EXPORT_NAME: {
        const opened = await openSession(ctx, data.toString('utf8'), 'go');
        if (opened.kind !== 'open') return undefined;
        const { device } = opened.session;
        socket.write(exportNameReply(device.sizeBytes, transmissionFlags(device.readOnly), noZeroes));
        return opened.session;
      }
      case OPT.ABORT:
        socket.write(optionReply(option, REP.ACK));
        return undefined;
      case OPT.LIST:
        await replyList(socket, ctx.exports, option, length);
        break;
      case OPT.INFO:
      case OPT.GO: {
        const session = await replyInfoOrGo(socket, ctx, option, data);
        if (session) return session;
        break;
      }
      default:
        socket.write(optionReply(option, REP.ERR_UNSUP));
    }
  }
}

async function replyList(socket: Socket, exports: NbdExports, option: number, length: number): Promise<void> {
  if (length !== 0) {
    socket.write(optionReply(option, REP.ERR_INVALID));
    return;
  }
  for (const name of (await exports.list?.()) ?? []) socket.write(optionReply(option, REP.SERVER, serverEntry(name)));
  socket.write(optionReply(option, REP.ACK));
}

/** INFO describes and lets go; GO keeps the session open for transmission. */
async function replyInfoOrGo(socket: Socket, ctx: HandshakeContext, option: number, data: Buffer): Promise<Session | undefined> {
  const request = parseGoData(data);
  if (!request) {
    socket.write(optionReply(option, REP.ERR_INVALID, Buffer.from('malformed INFO/GO data')));
    return undefined;
  }
  const opened = await openSession(ctx, request.name, option === OPT.GO ? 'go' : 'info');
  if (opened.kind === 'unknown') {
    socket.write(optionReply(option, REP.ERR_UNKNOWN, Buffer.from(`no export named '${request.name}'`)));
    return undefined;
  }
  if (opened.kind === 'refused') {
    socket.write(optionReply(option, REP.ERR_POLICY, Buffer.from(opened.reason)));
    return undefined;
  }
  const { device } = opened.session;
  socket.write(optionReply(option, REP.INFO, infoExport(device.sizeBytes, transmissionFlags(device.readOnly))));
  if (request.infoRequests.includes(INFO.BLOCK_SIZE)) socket.write(optionReply(option, REP.INFO, infoBlockSize()));
  socket.write(optionReply(option, REP.ACK));
  if (option === OPT.GO) return opened.session;
  opened.session.close();
  return undefined;
}

/**
 * Resolves an export name to a session. 'info' only looks (no writer lock taken, but the flags
 * are those a GO in the same mode would get); 'go' takes the writer lock for a writable export.
 */
async function openSession(ctx: HandshakeContext, exportName: string, purpose: 'info' | 'go'): Promise<Opened> {
  const { name, mode } = parseExportName(exportName);
  const serverLocks = purpose === 'go' && mode === 'write' && ctx.exports.writerLock !== 'resolver';
  if (serverLocks && !ctx.locks.tryAcquire(name)) {
    return { kind: 'refused', reason: `export '${name}' already has a writer; connect to '${READ_ONLY_PREFIX}${name}' to read it` };
  }
  let lockHeld = serverLocks;
  const releaseLock = () => {
    if (lockHeld) ctx.locks.release(name);
    lockHeld = false;
  };
  try {
    const result = await ctx.exports.open(name, purpose === 'info' ? 'read' : mode);
    if (result === undefined) {
      releaseLock();
      return { kind: 'unknown' };
    }
    if (isRefusal(result)) {
      releaseLock();
      return { kind: 'refused', reason: result.reason };
    }
    const device = new PageDevice(ctx.device, result.source, result.sizeBytes, mode);
    if (device.readOnly) releaseLock(); // a view, or a reader: nothing to exclude
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      releaseLock();
      result.release();
    };
    return { kind: 'open', session: { exportName, device, close } };
  } catch (error) {
    releaseLock();
    throw error;
  }
}
