// Md5Worker: the MD5 of large bodies, computed on a worker thread so that the request thread keeps
// reading sockets while the hash is computed.
//
// Why: MD5 is serial and runs at about 650 MiB/s on one core here. On the request thread it took 60 % of
// that thread's time during 256 MiB uploads (CPU profile: 1.17 s of MD5 in 4.7 s for three uploads), and
// that thread was the limit. With hashing switched off, the same upload went from ~300 to ~550 MiB/s
// (8 MiB blocks, 4 in flight, one machine). With the worker it measured 309–425 MiB/s against 283–340 for
// inline hashing, in alternating runs.
//
// Protocol (one worker, many sessions). A worker receives messages in order, so a session's bytes are
// hashed in the order they were sent, and its digest comes after all of them:
//   main → worker  { id, bytes, length }  hash bytes[0, length) next; bytes (an ArrayBuffer) is transferred
//   main → worker  { id, digest: true }   reply with the digest and forget the session
//   main → worker  { id, drop: true }     forget the session (its write failed)
//   worker → main  { done, length }       done is that ArrayBuffer, transferred back once hashed
//   worker → main  { id, md5 }            the digest, base64
//
// Buffers. update() copies the caller's pieces into buffers of BUFFER_BYTES (the caller keeps its own
// pieces: they are socket reads, or a write in flight) and transfers them. The worker sends each one back
// when it has hashed it, and it becomes a spare for the next copy. Two things were measured and rejected:
// - Letting the worker drop the buffers. Their memory then waited for a garbage collection in a worker that
//   allocates almost nothing: peak RSS during a 256 MiB transfer rose from ~135 to ~199 MiB.
// - Gathering bodies into these buffers and writing the disk from them (one copy instead of two). Writing
//   the socket pieces as they came with writev, then copying them for the hash, was faster: 309–425 MiB/s
//   against 198–406, falling from run to run (for a reason not pinned down: the pwrites themselves took longer).
//
// Sizes: 256 KiB buffers, at most 1 MiB queued and 4 spares keep this module's buffers near 2.5 MiB. With
// 1 MiB buffers, 2 MiB queued and 3 spares, peak RSS over three uploads was 135–140 MiB against 129–139
// (two servers each), at the same upload rate. The worker itself costs about 12 MiB of RSS once started.
//
// md5OnThisThread() gives the same session interface without the worker, for small bodies.
//
// Invariants:
// - Bytes sent and not yet hashed stay near QUEUE_MAX_BYTES: update() waits past that, so a worker that
//   falls behind slows uploads instead of holding their bodies in memory.
// - The worker keeps the process alive only while a session is open: it is unref'd when idle.
// - If the worker dies, every open session fails (update and digest reject, so the write fails and nothing
//   is committed), and the next session starts a new worker.
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';

export const BUFFER_BYTES = 256 * 1024;
const QUEUE_MAX_BYTES = 4 * BUFFER_BYTES;
const SPARES_MAX = 4;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const sessions = new Map();
parentPort.on('message', (message) => {
  if (message.bytes !== undefined) {
    let hash = sessions.get(message.id);
    if (hash === undefined) sessions.set(message.id, (hash = createHash('md5')));
    hash.update(new Uint8Array(message.bytes, 0, message.length));
    parentPort.postMessage({ done: message.bytes, length: message.length }, [message.bytes]);
  } else if (message.digest) {
    const hash = sessions.get(message.id) ?? createHash('md5');
    sessions.delete(message.id);
    parentPort.postMessage({ id: message.id, md5: hash.digest('base64') });
  } else {
    sessions.delete(message.id);
  }
});
`;

export interface Md5Session {
  /** Hashes pieces next (the caller keeps them: the worker gets a copy). Resolves when more may be sent. */
  update(pieces: readonly Buffer[]): Promise<void>;
  digest(): Promise<string>;
  /** Forgets the session without a digest. */
  drop(): void;
}

interface WorkerReply {
  done?: ArrayBuffer;
  length?: number;
  id?: number;
  md5?: string;
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

export class Md5Worker {
  #worker: Worker | undefined;
  #nextId = 1;
  /** Sessions started and not yet digested or dropped: while any is open the worker keeps the process alive. */
  #openSessions = 0;
  #queuedBytes = 0;
  #spares: Buffer[] = [];
  readonly #digests = new Map<number, Waiter<string>>();
  #roomWaiters: Array<Waiter<void>> = [];

  /** A session hashed on the worker thread. */
  start(): Md5Session {
    const worker = this.#running();
    const id = this.#nextId++;
    let open = true;
    if (this.#openSessions++ === 0) worker.ref();
    const release = () => {
      if (!open) return;
      open = false;
      if (this.#worker === worker && --this.#openSessions === 0) worker.unref();
    };
    return {
      update: async (pieces) => {
        this.#checkAlive(worker);
        for (const { buffer, length } of this.#copies(pieces)) {
          this.#queuedBytes += length;
          const bytes = buffer.buffer as ArrayBuffer;
          worker.postMessage({ id, bytes, length }, [bytes]);
        }
        if (this.#queuedBytes > QUEUE_MAX_BYTES) await new Promise<void>((resolve, reject) => this.#roomWaiters.push({ resolve, reject }));
      },
      digest: async () => {
        try {
          this.#checkAlive(worker);
          return await new Promise<string>((resolve, reject) => {
            this.#digests.set(id, { resolve, reject });
            worker.postMessage({ id, digest: true });
          });
        } finally {
          release(); // only now: the process must stay alive while the reply is on its way
        }
      },
      drop: () => {
        if (!open) return;
        release();
        if (this.#worker === worker) worker.postMessage({ id, drop: true });
      },
    };
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#abandon(new Error('the MD5 worker was closed'));
    await worker.terminate();
  }

  /** A session of a worker that died since it started fails: its earlier bytes died with the worker. */
  #checkAlive(worker: Worker): void {
    if (this.#worker !== worker) throw new Error('the MD5 worker of this session is gone');
  }

  #running(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref(); // referenced only while a session is open (start): an idle hasher never keeps the process alive
    worker.on('message', (reply: WorkerReply) => this.#onReply(reply));
    worker.on('error', (error) => this.#fail(worker, error));
    worker.on('exit', (code) => this.#fail(worker, new Error(`MD5 worker exited with code ${code}`)));
    this.#worker = worker;
    return worker;
  }

  #onReply(reply: WorkerReply): void {
    if (reply.done !== undefined) {
      this.#queuedBytes -= reply.length ?? 0;
      this.#spare(Buffer.from(reply.done));
      while (this.#queuedBytes <= QUEUE_MAX_BYTES && this.#roomWaiters.length > 0) this.#roomWaiters.shift()?.resolve();
      return;
    }
    if (reply.id === undefined || reply.md5 === undefined) return;
    const waiter = this.#digests.get(reply.id);
    this.#digests.delete(reply.id);
    waiter?.resolve(reply.md5);
  }

  /** The pieces copied into buffers of BUFFER_BYTES (spares first), each filled up before the next. */
  *#copies(pieces: readonly Buffer[]): Generator<{ buffer: Buffer; length: number }> {
    let buffer: Buffer | undefined;
    let length = 0;
    for (const piece of pieces) {
      for (let at = 0; at < piece.length;) {
        buffer ??= this.#spares.pop() ?? Buffer.allocUnsafeSlow(BUFFER_BYTES);
        const copied = piece.copy(buffer, length, at);
        at += copied;
        length += copied;
        if (length === BUFFER_BYTES) {
          yield { buffer, length };
          buffer = undefined;
          length = 0;
        }
      }
    }
    if (buffer && length > 0) yield { buffer, length };
  }

  #spare(buffer: Buffer): void {
    if (this.#spares.length < SPARES_MAX) this.#spares.push(buffer);
  }

  #fail(worker: Worker, error: Error): void {
    if (this.#worker === worker) this.#abandon(error);
  }

  /** The worker is gone: everything waiting on it fails; the next session starts a new one. */
  #abandon(error: Error): void {
    this.#worker = undefined;
    this.#openSessions = 0;
    this.#queuedBytes = 0;
    for (const waiter of this.#digests.values()) waiter.reject(error);
    this.#digests.clear();
    for (const waiter of this.#roomWaiters) waiter.reject(error);
    this.#roomWaiters = [];
  }
}

/** A session hashed on the calling thread, for bodies too small to be worth a trip to the worker. */
export function md5OnThisThread(): Md5Session {
  const hash = createHash('md5');
  return {
    update: async (pieces) => {
      for (const piece of pieces) hash.update(piece);
    },
    digest: async () => hash.digest('base64'),
    drop: () => undefined,
  };
}
