// Md5Worker: the digests it computes off-thread equal node:crypto's on this thread, whatever the piece
// sizes and however sessions interleave; a session's concurrent updates are hashed in call order; failed
// writes drop their session; a closed worker is replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { BUFFER_BYTES, Md5Worker } from '../src/engine/blocks/md5-worker.js';

const md5 = (...pieces: Buffer[]): string => {
  const hash = createHash('md5');
  for (const piece of pieces) hash.update(piece);
  return hash.digest('base64');
};

/** Cuts data into pieces of the given sizes, cycling through them. */
function cut(data: Buffer, sizes: readonly number[]): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    pieces.push(data.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

test('interleaved sessions with odd piece sizes digest like node:crypto', async (t) => {
  const worker = new Md5Worker();
  t.after(() => worker.close());
  // Sizes that straddle the worker's buffers: a few bytes, just under and over BUFFER_BYTES, several of them.
  const a = randomBytes(3 * BUFFER_BYTES + 17);
  const b = randomBytes(BUFFER_BYTES - 1);
  const aPieces = cut(a, [1, 65_536, BUFFER_BYTES - 3, 7, BUFFER_BYTES + 9]);
  const bPieces = cut(b, [4096, 333_333]);
  const sa = worker.start();
  const sb = worker.start();
  for (let i = 0; i < Math.max(aPieces.length, bPieces.length); i++) {
    const pa = aPieces[i];
    const pb = bPieces[i];
    if (pa) await sa.update([pa]);
    if (pb) await sb.update([pb]);
  }
  assert.equal(await sb.digest(), md5(b));
  assert.equal(await sa.digest(), md5(a));
});

test('a batch of pieces in one update, an empty session, and a dropped one', async (t) => {
  const worker = new Md5Worker();
  t.after(() => worker.close());
  const data = randomBytes(5 * BUFFER_BYTES / 2);
  const whole = worker.start();
  const dropped = worker.start();
  await dropped.update([randomBytes(1000)]);
  dropped.drop();
  await whole.update(cut(data, [100_000, 3]));
  assert.equal(await whole.digest(), md5(data));
  assert.equal(await worker.start().digest(), md5(Buffer.alloc(0)), 'no bytes: the MD5 of nothing');
});

test('many updates in flight are all hashed, in order (backpressure waits, loses nothing)', async () => {
  const worker = new Md5Worker();
  try {
    const pieces = Array.from({ length: 40 }, () => randomBytes(BUFFER_BYTES / 2 + 11));
    const session = worker.start();
    await Promise.all(pieces.map((piece) => session.update([piece])));
    assert.equal(await session.digest(), md5(...pieces));
  } finally {
    await worker.close();
  }
});

test('concurrent updates of one session, each spanning several slots, are hashed in call order', async () => {
  const worker = new Md5Worker();
  try {
    // 12 updates of 2.5 slots each: far more than the worker's slots, so updates wait for slots midway.
    const pieces = Array.from({ length: 12 }, () => randomBytes(5 * BUFFER_BYTES / 2));
    const session = worker.start();
    const other = worker.start();
    const otherData = randomBytes(3 * BUFFER_BYTES);
    await Promise.all([...pieces.map((piece) => session.update([piece])), other.update([otherData])]);
    assert.equal(await session.digest(), md5(...pieces));
    assert.equal(await other.digest(), md5(otherData));
  } finally {
    await worker.close();
  }
});

test('a digest asked for before its updates finished covers all of them', async () => {
  const worker = new Md5Worker();
  try {
    const pieces = Array.from({ length: 6 }, () => randomBytes(2 * BUFFER_BYTES + 5));
    const session = worker.start();
    const updates = pieces.map((piece) => session.update([piece]));
    const digest = session.digest();
    await Promise.all(updates);
    assert.equal(await digest, md5(...pieces));
  } finally {
    await worker.close();
  }
});

test('after close, an open session fails and the next session runs on a new worker', async () => {
  const worker = new Md5Worker();
  const stale = worker.start();
  await stale.update([randomBytes(10)]);
  await worker.close();
  await assert.rejects(stale.digest(), /gone/);
  const fresh = worker.start();
  await fresh.update([Buffer.from('hello')]);
  assert.equal(await fresh.digest(), md5(Buffer.from('hello')));
  await worker.close();
});
