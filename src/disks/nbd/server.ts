// The NBD server: serves page objects (and read-only frozen views) over the NBD protocol on TCP
// and unix sockets, for QEMU (-blockdev driver=nbd), qemu-io/qemu-img/qemu-nbd and nbd-client.
// Protocol: doc/proto.md of NetworkBlockDevice/nbd; QEMU 7.2's behaviour in
// ../shared/spec/compute-notes.md §3. This is an adapter: it knows page sources, never disks;
// the disk service maps export names to sources through NbdExports (exports.ts).
//
//   connection ─► handshake.ts (options, GO) ─► transmission.ts (requests) ─► page-device.ts
//                                                                              (engine: pages,
//                                                                               blocks, meta)
// Owned here: the listeners, the open connections, the writer locks (one writer per export
// name) and the range locks (ordering of mutations that share a page, across connections).
// Invariant: an acknowledged WRITE/TRIM/WRITE_ZEROES is durable (page-device.ts).
import { createServer, type Server, type Socket } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import type { BlockStore } from '../../engine/blocks/block-store.js';
import type { MetaStore } from '../../engine/meta/meta-store.js';
import type { PageStore } from '../../engine/pages/page-store.js';
import type { Logger } from '../../platform/log.js';
import { ByteReader, ConnectionClosedError } from './byte-reader.js';
import { WriterLocks, type NbdExports } from './exports.js';
import { negotiate, type HandshakeContext } from './handshake.js';
import { RangeLocks } from './range-locks.js';
import { transmit } from './transmission.js';

export interface NbdServerDeps {
  meta: MetaStore;
  blocks: BlockStore;
  pages: PageStore;
  exports: NbdExports;
  logger: Logger;
}

export interface NbdServer {
  /** Listens on host:port (port 0 picks one); resolves with the bound port. */
  listenTcp(host: string, port: number): Promise<number>;
  /** Listens on a unix socket; a stale socket file at path is replaced. */
  listenUnix(path: string): Promise<void>;
  /** Stops listening, disconnects clients, and waits for their requests to finish. */
  close(): Promise<void>;
}

export function createNbdServer(deps: NbdServerDeps): NbdServer {
  const ctx: HandshakeContext = {
    exports: deps.exports,
    locks: new WriterLocks(),
    device: { meta: deps.meta, blocks: deps.blocks, pages: deps.pages, locks: new RangeLocks() },
  };
  const listeners: Server[] = [];
  const connections = new Map<Socket, Promise<void>>();
  let closing = false;

  const accept = (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    const done = serveConnection(socket, ctx, deps.logger).finally(() => connections.delete(socket));
    connections.set(socket, done);
  };

  const listen = (server: Server, bind: (onListening: () => void) => void) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      bind(() => {
        server.off('error', reject);
        server.on('error', (error) => deps.logger.log('error', 'nbd.listener-error', { error: error.message }));
        listeners.push(server);
        resolve();
      });
    });

  return {
    async listenTcp(host, port) {
      const server = createServer(accept);
      await listen(server, (ready) => server.listen(port, host, ready));
      const address = server.address();
      return typeof address === 'object' && address !== null ? address.port : port;
    },
    async listenUnix(path) {
      removeStaleSocket(path);
      const server = createServer(accept);
      await listen(server, (ready) => server.listen(path, ready));
    },
    async close() {
      closing = true;
      const stopped = listeners.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
      for (const socket of connections.keys()) socket.destroy();
      await Promise.all([...stopped, ...connections.values()]);
    },
  };
}

async function serveConnection(socket: Socket, ctx: HandshakeContext, logger: Logger): Promise<void> {
  socket.setNoDelay(true);
  const reader = new ByteReader(socket);
  try {
    const session = await negotiate(socket, reader, ctx);
    if (!session) {
      socket.end();
      return;
    }
    logger.log('debug', 'nbd.session-open', { export: session.exportName, readOnly: session.device.readOnly });
    try {
      await transmit(socket, reader, session, logger);
    } finally {
      session.close();
      logger.log('debug', 'nbd.session-closed', { export: session.exportName });
    }
    socket.end();
  } catch (error) {
    if (!(error instanceof ConnectionClosedError)) {
      logger.log('error', 'nbd.connection-failed', { error: error instanceof Error ? error.message : String(error) });
    }
    socket.destroy();
  }
}

/** A socket file left by a process that died is in the way of listen(); anything else is not ours. */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
