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
//   main → worker  { id, slot, length }  hash slot's first length bytes next
//   main → worker  { id, digest: true }  reply with the digest and forget the session
//   main → worker  { id, drop: true }    forget the session (its write failed)
//   worker → main  { slot }              that slot is hashed and free again
//   worker → main  { id, md5 }           the digest, base64
//
// Slots. Each worker shares one SharedArrayBuffer of SLOT_COUNT slots of BUFFER_BYTES with this thread.
// update() copies the caller's pieces into free slots (the caller keeps its own pieces: they are socket
// reads, or a write in flight) and posts each filled slot's number; when no slot is free it waits for the
// worker to give one back. Nothing is allocated or transferred per message.
// Measured against the previous design, which transferred (moved) a 256 KiB ArrayBuffer to the worker and
// back for every 256 KiB hashed (a fresh server, three 256 MiB uploads of 8 MiB blocks with 4 in flight,
// the two builds alternating; CPU per thread from /proc/PID/task/*/stat): uploads 259–328 MiB/s against
// 211–275, and V8's helper threads (garbage collection) 0.66–0.72 s against 0.89–0.93 s per three uploads;
// `npm run bench -- --workloads big-blob`: 275 against 239 MiB/s, download and peak RSS unchanged.
// Every transfer registers the buffer as new external memory on the receiving side, and V8 counts external
// memory when it decides to collect: the round trips alone doubled what the collector saw allocated.
// Also measured and rejected, earlier:
// - Letting the worker drop its buffers. Their memory then waited for a garbage collection in a worker that
//   allocates almost nothing: peak RSS during a 256 MiB transfer rose from ~135 to ~199 MiB.
// - Gathering bodies into these buffers and writing the disk from them (one copy instead of two). Writing
//   the socket pieces as they came with writev, then copying them for the hash, was faster: 309–425 MiB/s
//   against 198–406, falling from run to run (for a reason not pinned down: the pwrites themselves took longer).
//
// Sizes: 8 slots of 256 KiB, 2 MiB per worker. The worker itself costs about 12 MiB of RSS once started.
//
// md5OnThisThread() gives the same session interface without the worker, for small bodies.
//
// Invariants:
// - Bytes sent and not yet hashed never exceed the slots: update() waits for a free one, so a worker that
//   falls behind slows uploads instead of holding their bodies in memory.
// - A session's updates run one after another (each waits for the previous), so even concurrent calls are
//   hashed in call order.
// - The worker keeps the process alive only while a session is open: it is unref'd when idle.
// - If the worker dies, every open session fails (update and digest reject, so the write fails and nothing
//   is committed), and the next session starts a new worker with fresh slots.
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';

export const BUFFER_BYTES = 256 * 1024;
const SLOT_COUNT = 8;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const slots = workerData.slots;
const slotBytes = workerData.slotBytes;
const sessions = new Map();
parentPort.on('message', (message) => {
  if (message.slot !== undefined) {
    let hash = sessions.get(message.id);
    if (hash === undefined) sessions.set(message.id, (hash = createHash('md5')));
    hash.update(new Uint8Array(slots, message.slot * slotBytes, message.length));
    parentPort.postMessage({ slot: message.slot });
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
  slot?: number;
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
  /** The running worker's slots (replaced with each new worker). */
  #slots = new SharedArrayBuffer(0);
  #freeSlots: number[] = [];
  readonly #digests = new Map<number, Waiter<string>>();
  #slotWaiters: Array<Waiter<number>> = [];

  /** A session hashed on the worker thread. */
  start(): Md5Session {
    const worker = this.#running();
    const slots = this.#slots;
    const id = this.#nextId++;
    let open = true;
    let queue: Promise<void> = Promise.resolve();
    if (this.#openSessions++ === 0) worker.ref();
    const release = () => {
      if (!open) return;
      open = false;
      if (this.#worker === worker && --this.#openSessions === 0) worker.unref();
    };
    return {
      update: (pieces) => {
        const sent = queue.then(() => this.#send(worker, slots, id, pieces));
        queue = sent.catch(() => undefined);
        return sent;
      },
      digest: async () => {
        try {
          await queue;
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

  /** Copies pieces into slots and posts each to the worker, waiting for a free slot when there is none. */
  async #send(worker: Worker, slots: SharedArrayBuffer, id: number, pieces: readonly Buffer[]): Promise<void> {
    this.#checkAlive(worker);
    let slot: number | undefined;
    let length = 0;
    for (const piece of pieces) {
      for (let at = 0; at < piece.length;) {
        slot ??= this.#freeSlots.pop() ?? await this.#slotFreed();
        const copied = piece.copy(new Uint8Array(slots, slot * BUFFER_BYTES, BUFFER_BYTES), length, at);
        at += copied;
        length += copied;
        if (length === BUFFER_BYTES) {
          worker.postMessage({ id, slot, length });
          slot = undefined;
          length = 0;
        }
      }
    }
    if (slot !== undefined) worker.postMessage({ id, slot, length });
  }

  #slotFreed(): Promise<number> {
    return new Promise<number>((resolve, reject) => this.#slotWaiters.push({ resolve, reject }));
  }

  #running(): Worker {
    if (this.#worker) return this.#worker;
    // A fresh slot array per worker: a dead worker's slots may still be half hashed.
    const slots = new SharedArrayBuffer(SLOT_COUNT * BUFFER_BYTES);
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { slots, slotBytes: BUFFER_BYTES } });
    worker.unref(); // referenced only while a session is open (start): an idle hasher never keeps the process alive
    // A worker that was closed or died may still deliver replies; its slot numbers are not this worker's.
    worker.on('message', (reply: WorkerReply) => {
      if (this.#worker === worker) this.#onReply(reply);
    });
    worker.on('error', (error) => this.#fail(worker, error));
    worker.on('exit', (code) => this.#fail(worker, new Error(`MD5 worker exited with code ${code}`)));
    this.#worker = worker;
    this.#slots = slots;
    this.#freeSlots = Array.from({ length: SLOT_COUNT }, (_, i) => i);
    return worker;
  }

  #onReply(reply: WorkerReply): void {
    if (reply.slot !== undefined) {
      const waiter = this.#slotWaiters.shift();
      if (waiter) waiter.resolve(reply.slot);
      else this.#freeSlots.push(reply.slot);
      return;
    }
    if (reply.id === undefined || reply.md5 === undefined) return;
    const waiter = this.#digests.get(reply.id);
    this.#digests.delete(reply.id);
    waiter?.resolve(reply.md5);
  }

  #fail(worker: Worker, error: Error): void {
    if (this.#worker === worker) this.#abandon(error);
  }

  /** The worker is gone: everything waiting on it fails; the next session starts a new one. */
  #abandon(error: Error): void {
    this.#worker = undefined;
    this.#openSessions = 0;
    this.#freeSlots = [];
    for (const waiter of this.#digests.values()) waiter.reject(error);
    this.#digests.clear();
    for (const waiter of this.#slotWaiters) waiter.reject(error);
    this.#slotWaiters = [];
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
