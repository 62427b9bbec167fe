// The transmission phase: read requests in order, run them concurrently, reply as each finishes
// (NBD replies carry the request's cookie, so they may go out of order).
//
// The loop reads a request header and, for WRITE, its payload, then starts the request and goes
// on reading; at most INFLIGHT_MAX run at once (QEMU keeps 16 in flight). Concurrency is what
// feeds the group commits of the block and metadata stores. DISC, a closed socket or a protocol
// violation ends the loop; outstanding requests finish (and reply, if the socket still can)
// before the session is released.
//
// Replies are simple replies only: errno 0 (+ data for READ) or one of EPERM (write to a
// read-only export), EINVAL (out of range, too long, unknown command), ENOTSUP (CACHE,
// BLOCK_STATUS: not advertised), ENOSPC, EIO (anything unexpected, logged).
import type { Socket } from 'node:net';
import type { Logger } from '../../platform/log.js';
import { PageError } from '../../engine/pages/page-store.js';
import type { ByteReader } from './byte-reader.js';
import type { Session } from './handshake.js';
import { OutOfRangeError, ReadOnlyError } from './page-device.js';
import { CMD, CMD_FLAG, ERRNO, PAYLOAD_BYTES_MAX, REQUEST_HEADER_BYTES, parseRequest, simpleReply, type Errno, type NbdRequest } from './protocol.js';

const INFLIGHT_MAX = 64;

export async function transmit(socket: Socket, reader: ByteReader, session: Session, logger: Logger): Promise<void> {
  const inflight = new Set<Promise<void>>();
  try {
    for (;;) {
      const request = parseRequest(await reader.read(REQUEST_HEADER_BYTES));
      if (!request) {
        logger.log('warn', 'nbd.bad-request-magic', { export: session.exportName });
        socket.destroy();
        break;
      }
      if (request.type === CMD.DISC) break;
      let payload: Buffer | undefined;
      if (request.type === CMD.WRITE) {
        if (request.length > PAYLOAD_BYTES_MAX) {
          await reader.skip(request.length);
          reply(socket, request, ERRNO.EINVAL);
          continue;
        }
        payload = await reader.read(request.length);
      }
      const running = run(session, request, payload, logger).then(({ errno, data }) => reply(socket, request, errno, data));
      inflight.add(running);
      void running.finally(() => inflight.delete(running));
      if (inflight.size >= INFLIGHT_MAX) await Promise.race(inflight);
    }
  } finally {
    await Promise.all(inflight);
  }
}

function reply(socket: Socket, request: NbdRequest, errno: Errno, data?: Buffer): void {
  if (socket.destroyed || !socket.writable) return;
  socket.cork();
  socket.write(simpleReply(errno, request.cookie));
  if (data && errno === ERRNO.OK) socket.write(data);
  socket.uncork();
}

/** Never rejects: every failure becomes an errno. */
async function run(session: Session, request: NbdRequest, payload: Buffer | undefined, logger: Logger): Promise<{ errno: Errno; data?: Buffer }> {
  const { device } = session;
  try {
    switch (request.type) {
      case CMD.READ:
        if (request.length > PAYLOAD_BYTES_MAX) return { errno: ERRNO.EINVAL };
        return { errno: ERRNO.OK, data: await device.read(request.offset, request.length) };
      case CMD.WRITE:
        // FUA needs nothing extra: every write is durable before its reply (page-device.ts).
        await device.write(request.offset, payload ?? Buffer.alloc(0));
        return { errno: ERRNO.OK };
      case CMD.FLUSH:
        await device.flush();
        return { errno: ERRNO.OK };
      case CMD.TRIM:
        await device.punch(request.offset, request.length);
        return { errno: ERRNO.OK };
      case CMD.WRITE_ZEROES:
        if ((request.flags & CMD_FLAG.NO_HOLE) !== 0) await device.writeZeroes(request.offset, request.length);
        else await device.punch(request.offset, request.length);
        return { errno: ERRNO.OK };
      case CMD.CACHE:
      case CMD.BLOCK_STATUS:
        return { errno: ERRNO.ENOTSUP };
      default:
        return { errno: ERRNO.EINVAL };
    }
  } catch (error) {
    return { errno: errnoOf(error, session, request, logger) };
  }
}

function errnoOf(error: unknown, session: Session, request: NbdRequest, logger: Logger): Errno {
  if (error instanceof ReadOnlyError) return ERRNO.EPERM;
  if (error instanceof OutOfRangeError) return ERRNO.EINVAL;
  if (error instanceof PageError && error.code === 'invalid-range') return ERRNO.EINVAL;
  if (isSystemError(error) && error.code === 'ENOSPC') return ERRNO.ENOSPC;
  logger.log('error', 'nbd.request-failed', {
    export: session.exportName, type: request.type, offset: request.offset, length: request.length,
    error: error instanceof Error ? error.message : String(error),
  });
  return ERRNO.EIO;
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}
