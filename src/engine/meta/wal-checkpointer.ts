// WAL checkpoints off the request thread.
//
// SQLite's automatic checkpoint runs inside the COMMIT that crosses 1000 WAL pages: it copies those
// pages into the database file and fsyncs it, on the thread that committed. Measured on the 4 KiB
// PUT load: commits p50 0.11 ms, but every ~40th took 5–10 ms, stalling every request in flight.
// So the writer connection turns auto-checkpoints off, and a worker thread with its own connection
// runs PASSIVE checkpoints (they never block the writer or readers; SQLite coordinates the two
// connections through the WAL index) after every CHECKPOINT_EVERY_COMMITS committed batches.
//
// Keeping the log short. SQLite rewinds the WAL to its start when a write transaction begins after
// a checkpoint copied every frame. Under steady load a commit always lands while the worker copies,
// so that never happens by itself and the log grows without bound (~40 MB/s on the 4 KiB PUT load;
// reads then search a larger WAL index, and every fdatasync also extends the file). So once the log
// holds more than `restartFrames` (4096 by default), the writer holds its next batch (writes queue; nothing blocks the
// event loop) until the worker has copied every frame; that batch then starts at the beginning of
// the file. journal_size_limit trims a file that grew larger back to that many pages.
//
//   commits ─┬─ every 32: worker PASSIVE pass ─▶ reply { log, checkpointed }
//            └─ log > restartFrames? ─▶ next batch waits: passes until checkpointed == log ─▶ rewind
//
// Safety: a checkpoint only copies committed frames; crash recovery is SQLite's, unchanged.
// If the worker fails, the writer goes back to automatic checkpoints, so the WAL stays bounded.
//
// The worker's code is evaluated from a string so that it runs the same under tsx (tests) and from
// the compiled build: a worker file would need a .ts or .js entry depending on how we were started.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Database as Db } from 'better-sqlite3';

const CHECKPOINT_EVERY_COMMITS = 32;
const RESTART_FRAMES_DEFAULT = 4096;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
parentPort.on('message', (message) => {
  if (message === 'close') { db.close(); parentPort.close(); return; }
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, log: row.log, checkpointed: row.checkpointed });
  } catch (error) { parentPort.postMessage({ ok: false, error: String(error) }); }
});
`;

interface PassResult {
  ok: boolean;
  log?: number;
  checkpointed?: number;
  error?: string;
}

export class WalCheckpointer {
  readonly #writer: Db;
  readonly #onError: (error: string) => void;
  #worker: Worker | undefined;
  /** The pass in flight (at most one). */
  #pass: Promise<PassResult> | undefined;
  #settlePass: ((result: PassResult) => void) | undefined;
  #commitsSince = 0;
  #rewindDue = false;

  constructor(options: { writer: Db; path: string; restartFrames?: number; onError: (error: string) => void }) {
    const restartFrames = options.restartFrames ?? RESTART_FRAMES_DEFAULT;
    this.#writer = options.writer;
    this.#onError = options.onError;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path: options.path } });
    worker.unref();
    worker.on('message', (reply: PassResult) => {
      const settle = this.#settlePass;
      this.#pass = undefined;
      this.#settlePass = undefined;
      if (!reply.ok) this.#fallBack(reply.error ?? 'checkpoint failed');
      else if ((reply.log ?? 0) > restartFrames) this.#rewindDue = true;
      settle?.(reply);
    });
    worker.on('error', (error) => this.#fallBack(String(error)));
    // An exit we did not ask for (close() forgets the worker first) must not leave a pass pending forever.
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#fallBack(`checkpoint worker exited with code ${code}`);
    });
    this.#worker = worker;
    const pageBytes = this.#writer.pragma('page_size', { simple: true }) as number;
    this.#writer.pragma(`journal_size_limit = ${restartFrames * pageBytes}`);
    this.#writer.pragma('wal_autocheckpoint = 0');
  }

  /** Called after each committed batch. */
  committed(): void {
    if (this.#worker === undefined) return;
    this.#commitsSince += 1;
    if (this.#commitsSince < CHECKPOINT_EVERY_COMMITS || this.#pass !== undefined) return;
    this.#commitsSince = 0;
    void this.#runPass();
  }

  /** True when the writer should await `rewind()` before its next batch. */
  get rewindDue(): boolean {
    return this.#rewindDue && this.#worker !== undefined;
  }

  /** Waits until every frame is copied; call with no commit in between, so the passes catch up. */
  async rewind(): Promise<void> {
    this.#rewindDue = false;
    for (let attempt = 0; attempt < 4 && this.#worker !== undefined; attempt++) {
      const result = await (this.#pass ?? this.#runPass());
      if (!result.ok || result.log === result.checkpointed) return;
    }
  }

  /** Stops the worker (its connection closes first, so the writer's close can remove the WAL). */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return;
    await this.#pass;
    this.#worker = undefined;
    await new Promise<void>((resolve) => {
      worker.ref(); // unref'd while idle; closing must keep the process alive until it has exited
      worker.once('exit', () => resolve());
      worker.postMessage('close');
    });
  }

  #runPass(): Promise<PassResult> {
    const worker = this.#worker;
    if (worker === undefined) return Promise.resolve({ ok: false });
    this.#pass = new Promise<PassResult>((resolve) => {
      this.#settlePass = resolve;
    });
    worker.postMessage('checkpoint');
    return this.#pass;
  }

  #fallBack(error: string): void {
    const worker = this.#worker;
    if (worker === undefined) return;
    this.#worker = undefined;
    this.#rewindDue = false;
    this.#settlePass?.({ ok: false, error });
    this.#pass = undefined;
    this.#settlePass = undefined;
    void worker.terminate();
    this.#writer.pragma('wal_autocheckpoint = 1000');
    this.#onError(error);
  }
}
