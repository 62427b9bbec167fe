// Identifiers: request ids, lease ids, copy ids (GUIDs) and ETags.
// Only this folder uses the random source.
import { randomUUID, randomBytes } from 'node:crypto';

export function newGuid(): string {
  return randomUUID();
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Azure-looking ETag: "0x" + 15 upper-case hex digits, unique per change. Built from the
 * change time and a per-process counter so two changes in the same millisecond still differ.
 */
export class EtagSource {
  #last = 0n;
  next(nowMs: number): string {
    let value = BigInt(nowMs) * 10_000n;
    if (value <= this.#last) value = this.#last + 1n;
    this.#last = value;
    return `"0x${value.toString(16).toUpperCase().padStart(15, '0')}"`;
  }
}
