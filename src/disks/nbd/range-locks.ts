// Orders mutations of one page object that touch the same 512-byte pages.
//
// NBD writes need not be page-aligned, and the page engine stores whole pages, so a write of
// bytes [700, 1300) becomes a write of pages [512, 1536) whose edges come from the current
// content (read-modify-write). Two such writes in flight at once, to different bytes of one
// page, must both survive: the second must read the page only after the first committed.
//
//   in flight:  W1 bytes [700, 900)    W2 bytes [1000, 1300)     both touch page [512, 1024)
//   unordered:  W1 reads P, W2 reads P, W1 commits P+W1, W2 commits P+W2   → W1 is lost
//   ordered:    W2 waits for W1's commit, then reads P+W1 and commits P+W1+W2
//
// Every mutation (write, trim, zero) registers its page-expanded range on arrival, in request
// order, and waits for the earlier mutations it overlaps. Aligned writes wait too: an aligned
// write racing an edge rewrite of the same page could otherwise be half undone by the stale
// edge. Non-overlapping mutations never wait, so sequential streams keep their concurrency.
// Rejected: one mutex per object (serializes every write, and with it the group commits).
import type { ByteRange } from '../../engine/pages/page-store.js';

interface Held {
  range: ByteRange;
  done: Promise<void>;
}

export class RangeLocks {
  readonly #held = new Map<number, Held[]>();

  /** Resolves (with the unlock function) once every earlier overlapping holder has unlocked. */
  async acquire(key: number, range: ByteRange): Promise<() => void> {
    const held = this.#held.get(key) ?? [];
    const earlier = held.filter((h) => h.range.start < range.end && range.start < h.range.end).map((h) => h.done);
    let unlock: () => void = () => undefined;
    const mine: Held = { range, done: new Promise<void>((resolve) => (unlock = resolve)) };
    held.push(mine);
    this.#held.set(key, held);
    const release = () => {
      const list = this.#held.get(key);
      if (list) {
        const left = list.filter((h) => h !== mine);
        if (left.length === 0) this.#held.delete(key);
        else this.#held.set(key, left);
      }
      unlock();
    };
    await Promise.all(earlier);
    return release;
  }
}
