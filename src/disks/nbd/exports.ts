// What the NBD server serves, and who may write it. The server knows page sources, not disks:
// the disk service implements NbdExports (export name → page object or frozen view), and this
// file holds the contract plus a tiny in-memory resolver for tests.
//
// Access mode. NBD has no way for a client to say "I only read", so the export name carries it:
//   "disk-1"      → open(name = "disk-1", mode = 'write')  one writer at a time
//   "ro/disk-1"   → open(name = "disk-1", mode = 'read')   any number of readers, beside the writer
// (a prefix rather than a suffix such as "@ro": "name@snap" is how ZFS-minded users name
// snapshots, and a prefix needs no URL or shell quoting: nbd://host:10809/ro/disk-1).
// A view (snapshot) source is always served read-only, whatever the mode asked.
//
// One writer per export: by default the server keeps the lock, keyed by export name, from GO to
// disconnect. A resolver that tracks attachment itself (a disk attached to a VM elsewhere in a
// cluster) sets `writerLock: 'resolver'` and answers a refused open with { refused: 'busy' }.
import type { PageSource } from '../../engine/pages/page-store.js';

export type NbdMode = 'read' | 'write';

export const READ_ONLY_PREFIX = 'ro/';

export interface NbdExport {
  /** A live page object (writable) or a frozen view (always read-only). */
  source: PageSource;
  /** Fixed for the session: a multiple of 512 bytes, at most the source's size. */
  sizeBytes: number;
  /** Called exactly once, when the session that opened the export ends. */
  release(): void;
}

export type NbdRefusal = { refused: 'busy' | 'forbidden'; reason: string };

export type NbdOpenResult = NbdExport | NbdRefusal | undefined;

export interface NbdExports {
  /** undefined: no such export (NBD_REP_ERR_UNKNOWN). A refusal becomes NBD_REP_ERR_POLICY. */
  open(name: string, mode: NbdMode): Promise<NbdOpenResult>;
  /** Names for NBD_OPT_LIST; without it the list is empty. */
  list?(): Promise<string[]>;
  /** Who enforces one writer per export; 'server' (the default) locks by export name. */
  readonly writerLock?: 'server' | 'resolver';
}

export function isRefusal(result: NbdOpenResult): result is NbdRefusal {
  return result !== undefined && 'refused' in result;
}

export function parseExportName(raw: string): { name: string; mode: NbdMode } {
  if (raw.startsWith(READ_ONLY_PREFIX)) return { name: raw.slice(READ_ONLY_PREFIX.length), mode: 'read' };
  return { name: raw, mode: 'write' };
}

/** Name → page source, for tests and tools. Releases are counted so tests can check them. */
export class StaticNbdExports implements NbdExports {
  readonly #exports = new Map<string, { source: PageSource; sizeBytes: number }>();
  #openCount = 0;

  constructor(entries: Record<string, { source: PageSource; sizeBytes: number }> = {}) {
    for (const [name, entry] of Object.entries(entries)) this.set(name, entry.source, entry.sizeBytes);
  }

  set(name: string, source: PageSource, sizeBytes: number): void {
    this.#exports.set(name, { source, sizeBytes });
  }

  /** Sessions opened and not yet released. */
  get openCount(): number {
    return this.#openCount;
  }

  async open(name: string): Promise<NbdOpenResult> {
    const entry = this.#exports.get(name);
    if (!entry) return undefined;
    this.#openCount++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#openCount--;
    };
    return { source: entry.source, sizeBytes: entry.sizeBytes, release };
  }

  async list(): Promise<string[]> {
    return [...this.#exports.keys()];
  }
}

/** The server-side writer lock: one holder per export name. */
export class WriterLocks {
  readonly #held = new Set<string>();

  /** True and held, or false when another session holds it. */
  tryAcquire(name: string): boolean {
    if (this.#held.has(name)) return false;
    this.#held.add(name);
    return true;
  }

  release(name: string): void {
    this.#held.delete(name);
  }
}
