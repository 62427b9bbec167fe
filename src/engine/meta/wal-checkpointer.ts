// WAL checkpoints off the request thread.
//
// SQLite's automatic checkpoint runs inside the COMMIT that crosses 1000 WAL pages: it copies those
// pages into the database file and fsyncs it, on the thread that committed. Measured on the 4 KiB
// PUT load: commits p50 0.11 ms, but every ~40th took 5–10 ms, stalling every request in flight.
// So the writer connection turns auto-checkpoints off, and a worker thread with its own connection
// runs PASSIVE checkpoints (they never block the writer or readers; SQLite coordinates the two
// connections through the WAL index) after every CHECKPOINT_EVERY_COMMITS committed batches.
//
// Safety: a checkpoint only copies committed frames; crash recovery is SQLite's, unchanged.
// If the worker fails, the writer goes back to automatic checkpoints, so the WAL stays bounded.
// If the worker falls behind (the WAL keeps growing past WAL_BYTES_MAX because commits never pause
// long enough for the log to restart), the writer checkpoints once itself.
//
// The worker's code is evaluated from a string so that it runs the same under tsx (tests) and from
// the compiled build: a worker file would need a .ts or .js entry depending on how we were started.
import { createRequire } from 'node:module';
import { fstatSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Database as Db } from 'better-sqlite3';

const CHECKPOINT_EVERY_COMMITS = 32;
const WAL_BYTES_MAX = 256 * 1024 * 1024;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
parentPort.on('message', (message) => {
  if (message === 'close') { db.close(); parentPort.close(); return; }
  try { db.pragma('wal_checkpoint(PASSIVE)'); parentPort.postMessage({ ok: true }); }
  catch (error) { parentPort.postMessage({ ok: false, error: String(error) }); }
});
`;

export class WalCheckpointer {
  readonly #writer: Db;
  readonly #walFd: number | undefined;
  readonly #onError: (error: string) => void;
  #worker: Worker | undefined;
  #running = false;
  #commitsSince = 0;

  /** `walFd`: an open descriptor of the WAL file, to watch its size (optional). */
  constructor(options: { writer: Db; path: string; walFd: number | undefined; onError: (error: string) => void }) {
    this.#writer = options.writer;
    this.#walFd = options.walFd;
    this.#onError = options.onError;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path: options.path } });
    worker.unref();
    worker.on('message', (reply: { ok: boolean; error?: string }) => {
      this.#running = false;
      if (!reply.ok) this.#fallBack(reply.error ?? 'checkpoint failed');
    });
    worker.on('error', (error) => this.#fallBack(String(error)));
    this.#worker = worker;
    this.#writer.pragma('wal_autocheckpoint = 0');
  }

  /** Called after each committed batch. */
  committed(): void {
    if (this.#worker === undefined) return;
    this.#commitsSince += 1;
    if (this.#commitsSince < CHECKPOINT_EVERY_COMMITS) return;
    if (this.#walFd !== undefined && fstatSync(this.#walFd).size > WAL_BYTES_MAX) {
      this.#writer.pragma('wal_checkpoint(RESTART)');
    }
    if (this.#running) return;
    this.#commitsSince = 0;
    this.#running = true;
    this.#worker.postMessage('checkpoint');
  }

  /** Stops the worker (its connection closes first, so the writer's close can remove the WAL). */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return;
    this.#worker = undefined;
    await new Promise<void>((resolve) => {
      worker.ref(); // unref'd while idle; closing must keep the process alive until it has exited
      worker.once('exit', () => resolve());
      worker.postMessage('close');
    });
  }

  #fallBack(error: string): void {
    const worker = this.#worker;
    if (worker === undefined) return;
    this.#worker = undefined;
    this.#running = false;
    void worker.terminate();
    this.#writer.pragma('wal_autocheckpoint = 1000');
    this.#onError(error);
  }
}
