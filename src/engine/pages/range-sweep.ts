// Pure range arithmetic for the page engine: coalescing, clipping, and the "last touch" sweep
// that turns a slice of the change log into written / cleared ranges. No I/O here, so the
// diff's cost is visible: O(c log c) for c changes, whatever the object's size.
import type { PageChangeRecord } from '../meta/meta-store.js';
import type { ByteRange } from './page-store.js';

/** Appends [start, end) to sorted, coalesced ranges, merging when it touches the last one. */
export function appendCoalesced(ranges: ByteRange[], start: number, end: number): void {
  if (start >= end) return;
  const last = ranges[ranges.length - 1];
  if (last !== undefined && last.end >= start) last.end = Math.max(last.end, end);
  else ranges.push({ start, end });
}

/** Sorted, non-overlapping spans clipped to `clip` and coalesced where adjacent. */
export function coalesceClipped(spans: readonly ByteRange[], clip: ByteRange): ByteRange[] {
  const out: ByteRange[] = [];
  for (const span of spans) appendCoalesced(out, Math.max(span.start, clip.start), Math.min(span.end, clip.end));
  return out;
}

/**
 * For every byte some change touched, the kind of the change that touched it last, as two
 * coalesced, sorted lists, clipped to [0, sizeBytes). A sweep over the sorted boundaries keeps
 * the changes covering the current position in a max-heap by seq; ended ones are dropped lazily
 * when they reach the top.
 *
 *   seq 3 update   |=====|
 *   seq 5 clear        |=====|
 *   seq 7 update                |==|
 *   last touch     |www|ccccc|  |ww|   → written [a,b) [e,f), touched-by-clear [b,d)
 */
export function lastTouch(changes: readonly PageChangeRecord[], sizeBytes: number): { written: ByteRange[]; cleared: ByteRange[] } {
  const sorted = changes
    .map((c) => ({ ...c, end: Math.min(c.end, sizeBytes) }))
    .filter((c) => c.start < c.end)
    .sort((a, b) => a.start - b.start);
  const points = [...new Set(sorted.flatMap((c) => [c.start, c.end]))].sort((a, b) => a - b);
  const heap = new SeqHeap();
  const written: ByteRange[] = [];
  const cleared: ByteRange[] = [];
  let next = 0;
  for (let k = 0; k + 1 < points.length; k++) {
    const at = points[k] ?? 0;
    for (let c = sorted[next]; c !== undefined && c.start <= at; c = sorted[++next]) heap.push(c);
    let top = heap.peek();
    while (top !== undefined && top.end <= at) {
      heap.pop();
      top = heap.peek();
    }
    if (top !== undefined) appendCoalesced(top.cleared ? cleared : written, at, points[k + 1] ?? at);
  }
  return { written, cleared };
}

/** A binary max-heap of changes ordered by seq. */
class SeqHeap {
  readonly #items: PageChangeRecord[] = [];

  peek(): PageChangeRecord | undefined {
    return this.#items[0];
  }

  push(item: PageChangeRecord): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#seq(parent) >= this.#seq(i)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  pop(): void {
    const items = this.#items;
    const last = items.pop();
    if (last === undefined || items.length === 0) return;
    items[0] = last;
    for (let i = 0; ;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let largest = i;
      if (left < items.length && this.#seq(left) > this.#seq(largest)) largest = left;
      if (right < items.length && this.#seq(right) > this.#seq(largest)) largest = right;
      if (largest === i) return;
      this.#swap(i, largest);
      i = largest;
    }
  }

  #seq(i: number): number {
    return this.#items[i]?.seq ?? -1;
  }

  #swap(i: number, j: number): void {
    const items = this.#items;
    const a = items[i];
    const b = items[j];
    if (a === undefined || b === undefined) return;
    items[i] = b;
    items[j] = a;
  }
}
