// Version ids and snapshot times: ISO 8601 UTC with 7 fractional digits (100 ns ticks), e.g.
// 2024-01-01T10:20:30.1234567Z — the format Azure uses for both. Ids come from the injected clock
// but never repeat and never go backwards: each is later than the previous one this process made
// and later than a floor the caller gives (the newest id that blob already has), even if the
// clock steps back.

const TICKS_PER_MS = 10_000n;

export class TimeIds {
  #lastTicks = 0n;

  next(nowMs: number, floor?: string): string {
    let ticks = BigInt(nowMs) * TICKS_PER_MS;
    const floorTicks = floor ? parseTimeId(floor) : undefined;
    if (floorTicks !== undefined && ticks <= floorTicks) ticks = floorTicks + 1n;
    if (ticks <= this.#lastTicks) ticks = this.#lastTicks + 1n;
    this.#lastTicks = ticks;
    return formatTicks(ticks);
  }
}

/** A time id for a moment in ms (used for blobs written before versioning, from their Last-Modified). */
export function timeIdOf(ms: number): string {
  return formatTicks(BigInt(ms) * TICKS_PER_MS);
}

function formatTicks(ticks: bigint): string {
  const ms = Number(ticks / TICKS_PER_MS);
  const fraction = (ticks % 10_000_000n).toString().padStart(7, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${fraction}Z`;
}

const TIME_ID = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,7}))?Z$/;

/** Parses an id (fewer fraction digits allowed, as clients may trim zeros); undefined if malformed. */
export function parseTimeId(id: string): bigint | undefined {
  const match = TIME_ID.exec(id);
  if (!match || match[1] === undefined) return undefined;
  const seconds = Date.parse(`${match[1]}Z`);
  if (Number.isNaN(seconds)) return undefined;
  const fraction = BigInt((match[2] ?? '').padEnd(7, '0'));
  return BigInt(seconds) * TICKS_PER_MS + fraction;
}

/** The canonical 7-digit form of an id a client sent, or undefined if malformed. */
export function normalizeTimeId(id: string): string | undefined {
  const ticks = parseTimeId(id);
  return ticks === undefined ? undefined : formatTicks(ticks);
}
