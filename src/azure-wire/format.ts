// Time formats on the Azure wire.
//   RFC 1123   `Mon, 01 Jan 2024 00:00:00 GMT`   Date, Last-Modified, x-ms-creation-time, list XML
//   ISO 8601   `2024-01-01T10:20:30.1234567Z`   snapshots, versions, ACL Start/Expiry, error Time
// Azure writes ISO 8601 with exactly 7 fractional digits (100 ns ticks); Nimbus keeps milliseconds, so the
// last four digits are always 0. Parsers accept any number of fractional digits (Date.parse truncates).

/** `Mon, 01 Jan 2024 00:00:00 GMT` (second precision, as HTTP dates are). */
export function formatRfc1123(ms: number): string {
  return new Date(ms).toUTCString();
}

/**
 * formatRfc1123 remembering its answers by second: a listing formats two or three dates per blob,
 * and a page of blobs written in bursts shares a few hundred seconds at most, in any name order.
 * One per listing render, so the memory is bounded by the page.
 */
export function rfc1123Formatter(): (ms: number) => string {
  const bySecond = new Map<number, string>();
  return (ms) => {
    const second = Math.floor(ms / 1000);
    let text = bySecond.get(second);
    if (text === undefined) {
      text = new Date(second * 1000).toUTCString();
      bySecond.set(second, text);
    }
    return text;
  };
}

/** `2024-01-01T10:20:30.1230000Z` */
export function formatIso7(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2024-01-01T10:20:30.123Z
  return iso.slice(0, -1) + '0000Z';
}

/** Epoch ms of an HTTP date, or undefined when it does not parse. */
export function parseHttpDate(value: string): number | undefined {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Epoch ms of an ISO 8601 timestamp (any fractional precision), or undefined. */
export function parseIso(value: string): number | undefined {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * RFC 1123 for "now", recomputed at most once per second. The cache is owned by whoever creates it
 * (one per handler), so there is no module state.
 */
export function createHttpDateCache(): (nowMs: number) => string {
  let second = Number.NaN;
  let text = '';
  return (nowMs) => {
    const s = Math.floor(nowMs / 1000);
    if (s !== second) {
      second = s;
      text = formatRfc1123(s * 1000);
    }
    return text;
  };
}
