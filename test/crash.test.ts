// Crash test: "a 2xx means the data survives kill -9", checked end to end.
//
// Method: the real server runs as a child process (helpers/process-server.ts). Eight writers use
// the SDK against it - Put Blob (0-512 KiB, so both inline and extent bodies), multi-block Put Block
// + Put Block List (~0.5-5 MiB), overwrites, deletes, Set Blob Metadata - while an in-memory model
// records, per blob name, the states a later read may show. After a random 200-1500 ms the server
// gets SIGKILL, restarts on the same data dir, and every name is checked against the model and a
// full listing; then the next round writes on. Rounds continue one model, so the garbage
// collector's startup run (compacting the extents earlier rounds left mostly dead) overlaps the
// verification reads and the next round's writes, and is itself cut by the next kill.
//
//   per name:  possible = [acknowledged state]                   no operation in flight
//              possible = [acknowledged state, attempted state]  an operation was cut by the kill
//   after restart: the observed state must be one of `possible`, and becomes the only one.
//
// Each writer owns its own names, so at most one operation per name is in flight and the model
// needs no ordering between writers. (Concurrent writers of one name would make "last ack wins"
// depend on server-side commit order, which the client cannot observe.)
//
// Replay: the seed is logged; CRASH_SEED=<n> replays the operation sequence (the kill instant is
// wall-clock and cannot be replayed exactly). CRASH_ROUNDS overrides the round count;
// CRASH_DURABILITY=process runs the server without fsync, which must survive kill -9 just as well.
// The default (fsync) is what users run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { startProcessServer, type ProcessServer } from './helpers/process-server.js';

const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const CONTAINER = 'crash';
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 5);
const SERVER_ARGS = process.env.CRASH_DURABILITY ? ['--durability', process.env.CRASH_DURABILITY] : [];
const WRITERS = 8;
const NAMES_PER_WRITER = 8;
const KIB = 1024;
// Sizes straddle the server's 64 KiB inline threshold (content.ts): small bodies live in SQLite,
// larger ones in extent files, and a block list may mix both kinds.
const SMALL_MAX_BYTES = 64 * KIB;
const MEDIUM_MAX_BYTES = 512 * KIB;
const BLOCK_MIN_BYTES = 16 * KIB;
const BLOCK_MAX_BYTES = 1024 * KIB;
const KILL_DELAY_MIN_MS = 200;
const KILL_DELAY_MAX_MS = 1500;
const REQUEST_TIMEOUT_MS = 30_000;
const VERIFY_PARALLELISM = 4;

type Metadata = Record<string, string>;
type BlobState = { kind: 'absent' } | { kind: 'present'; md5: string; sizeBytes: number; metadata: Metadata };
type OpKind = 'put-small' | 'put-blocks' | 'delete' | 'set-metadata';

interface NameRecord {
  possible: BlobState[];
  /** Recent operations on this name, for failure messages. */
  history: string[];
}

interface Stats {
  acked: Record<OpKind, number>;
  inFlightAtKill: number;
  blobsVerified: number;
  bytesVerified: number;
}

interface Round {
  index: number;
  container: ContainerClient;
  /** Set just before SIGKILL: writers start nothing new, and a network error now means "cut by the kill". */
  stopping: boolean;
}

/** sfc32: small, fast, seedable; good enough to pick operations and fill buffers. */
class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.next();
  }
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }
  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + (this.next() % (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }
  bytes(length: number): Buffer {
    const words = new Uint32Array(Math.ceil(length / 4));
    for (let i = 0; i < words.length; i++) words[i] = this.next();
    return Buffer.from(words.buffer, 0, length);
  }
}

class Model {
  readonly names = new Map<string, NameRecord>();

  record(name: string): NameRecord {
    let record = this.names.get(name);
    if (!record) {
      record = { possible: [{ kind: 'absent' }], history: [] };
      this.names.set(name, record);
    }
    return record;
  }

  note(name: string, line: string): void {
    const history = this.record(name).history;
    history.push(line);
    if (history.length > 8) history.shift();
  }
}

class Writer {
  readonly rng: Prng;
  #opCount = 0;
  constructor(readonly index: number, seed: number) {
    this.rng = new Prng((seed ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  }
  names(): string[] {
    return Array.from({ length: NAMES_PER_WRITER }, (_, j) => `w${this.index}/blob-${j}`);
  }
  nextOpId(): number {
    return ++this.#opCount;
  }
}

// ---------------------------------------------------------------------------------------------
// Operations: each returns the state it leaves the blob in, and the call that makes it so.

interface PlannedOp {
  kind: OpKind;
  next: BlobState;
  run(signal: AbortSignal): Promise<unknown>;
}

function planOp(writer: Writer, round: Round, name: string, current: BlobState): PlannedOp {
  const rng = writer.rng;
  const blob = round.container.getBlockBlobClient(name);
  const roll = rng.next() % 100;
  if (current.kind === 'present' && roll < 20) {
    return { kind: 'delete', next: { kind: 'absent' }, run: (abortSignal) => blob.delete({ abortSignal }) };
  }
  if (current.kind === 'present' && roll < 40) {
    const metadata = randomMetadata(rng);
    return {
      kind: 'set-metadata',
      next: { ...current, metadata },
      run: (abortSignal) => blob.setMetadata(metadata, { abortSignal }),
    };
  }
  const metadata = randomMetadata(rng);
  if (rng.chance(0.25)) {
    const blocks = Array.from({ length: rng.int(2, 5) }, () => rng.bytes(rng.int(BLOCK_MIN_BYTES, BLOCK_MAX_BYTES)));
    const opId = writer.nextOpId();
    // Block ids of one blob must share a length, also with blocks left staged by a killed upload.
    const ids = blocks.map((_, i) => Buffer.from(`r${round.index}w${writer.index}o${opId}b${i}`.padEnd(24, '.')).toString('base64'));
    return {
      kind: 'put-blocks',
      next: presentState(blocks, metadata),
      async run(abortSignal) {
        await Promise.all(blocks.map((data, i) => blob.stageBlock(ids[i] ?? '', data, data.length, { abortSignal })));
        return blob.commitBlockList(ids, { metadata, abortSignal });
      },
    };
  }
  const data = rng.bytes(rng.chance(0.7) ? rng.int(0, SMALL_MAX_BYTES) : rng.int(SMALL_MAX_BYTES + 1, MEDIUM_MAX_BYTES));
  return {
    kind: 'put-small',
    next: presentState([data], metadata),
    run: (abortSignal) => blob.upload(data, data.length, { metadata, abortSignal }),
  };
}

function presentState(parts: Buffer[], metadata: Metadata): BlobState {
  const hash = createHash('md5');
  for (const part of parts) hash.update(part);
  return { kind: 'present', md5: hash.digest('base64'), sizeBytes: parts.reduce((n, p) => n + p.length, 0), metadata };
}

function randomMetadata(rng: Prng): Metadata {
  const metadata: Metadata = {};
  const count = rng.int(0, 3);
  // Lowercase names: metadata comes back through HTTP headers, whose names Node lowercases.
  for (let i = 0; i < count; i++) metadata[`k${rng.int(0, 5)}`] = `v${rng.next().toString(36)}`;
  return metadata;
}

// ---------------------------------------------------------------------------------------------
// Writers

async function runWriter(writer: Writer, round: Round, model: Model, stats: Stats, problems: string[]): Promise<void> {
  // A name whose last verification could not read it stays unresolved; leave it alone.
  const names = writer.names().filter((name) => model.record(name).possible.length === 1);
  while (!round.stopping && names.length > 0) {
    const name = names[writer.rng.int(0, names.length - 1)] ?? '';
    const record = model.record(name);
    const [current] = record.possible;
    if (!current || record.possible.length !== 1) throw new Error(`model of ${name} is unresolved at the start of an operation`);
    const op = planOp(writer, round, name, current);
    record.possible = [current, op.next];
    try {
      await op.run(AbortSignal.timeout(REQUEST_TIMEOUT_MS));
      record.possible = [op.next];
      stats.acked[op.kind]++;
      model.note(name, `r${round.index} ${op.kind} acked -> ${describe(op.next)}`);
    } catch (error) {
      const status = statusOf(error);
      if (round.stopping && status === undefined) {
        stats.inFlightAtKill++;
        model.note(name, `r${round.index} ${op.kind} cut by kill -> ${describe(current)} | ${describe(op.next)}`);
        return;
      }
      // A reply that is not 2xx, or a network error while the server should be up: a server bug.
      // The writer stops for this round; the name stays ambiguous until the next verification.
      problems.push(`round ${round.index}: ${op.kind} ${name} failed${status ? ` with ${status}` : ''}: ${errorText(error)}`);
      model.note(name, `r${round.index} ${op.kind} FAILED (${status ?? 'network'})`);
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Verification after a restart

type Observed = BlobState;

async function verify(container: ContainerClient, model: Model, roundLabel: string, stats: Stats): Promise<{ violations: string[]; fatal: boolean }> {
  const violations: string[] = [];
  const listed = new Map<string, { sizeBytes: number; metadata: Metadata }>();
  try {
    for await (const item of container.listBlobsFlat({ includeMetadata: true })) {
      if (listed.has(item.name)) violations.push(`${roundLabel}: ${item.name} listed twice`);
      listed.set(item.name, { sizeBytes: item.properties.contentLength ?? -1, metadata: item.metadata ?? {} });
    }
  } catch (error) {
    // The container's creation was acknowledged too; without a listing nothing else can be checked.
    return { violations: [`${roundLabel}: listing the container failed: ${errorText(error)}`], fatal: true };
  }
  const names = [...new Set([...model.names.keys(), ...listed.keys()])].sort();
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++] ?? '';
      const problem = await verifyName(container, model, name, listed.get(name), stats);
      if (problem) violations.push(`${roundLabel}: ${problem}`);
    }
  };
  await Promise.all(Array.from({ length: VERIFY_PARALLELISM }, worker));
  return { violations, fatal: false };
}

/** Checks one name against listing and model; resolves the model to what was observed. */
async function verifyName(
  container: ContainerClient, model: Model, name: string,
  listing: { sizeBytes: number; metadata: Metadata } | undefined, stats: Stats,
): Promise<string | undefined> {
  const known = model.names.get(name);
  const possible = known?.possible ?? [{ kind: 'absent' }];
  const context = () => `\n    possible: ${possible.map(describe).join(' | ')}\n    history: ${(known?.history ?? ['(never written)']).join('; ')}`;
  let observed: Observed;
  try {
    observed = await observe(container, name, listing !== undefined);
  } catch (error) {
    return `${name} is listed but cannot be read: ${errorText(error)}${context()}`;
  }
  if (listing && observed.kind === 'present') {
    if (listing.sizeBytes !== observed.sizeBytes || !sameMetadata(listing.metadata, observed.metadata)) {
      return `${name}: listing says ${listing.sizeBytes} bytes ${JSON.stringify(listing.metadata)}, read gives ${describe(observed)}${context()}`;
    }
  }
  if (!listing && observed.kind === 'present') return `${name} is readable but missing from the listing${context()}`;
  // From here on the model follows what the server shows, so one violation is reported once.
  model.record(name).possible = [observed];
  if (!possible.some((state) => sameState(state, observed))) {
    return `${name}: observed ${describe(observed)}${context()}`;
  }
  if (observed.kind === 'present') {
    stats.blobsVerified++;
    stats.bytesVerified += observed.sizeBytes;
  }
  return undefined;
}

async function observe(container: ContainerClient, name: string, listed: boolean): Promise<Observed> {
  const blob = container.getBlockBlobClient(name);
  if (!listed) {
    // Not listed: it must also be unreadable. A 404 here is the expected answer.
    try {
      await blob.getProperties({ abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (error) {
      if (statusOf(error) === 404) return { kind: 'absent' };
      throw error;
    }
  }
  const response = await blob.download(0, undefined, { abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const hash = createHash('md5');
  let sizeBytes = 0;
  for await (const chunk of response.readableStreamBody ?? []) {
    const piece = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    hash.update(piece);
    sizeBytes += piece.length;
  }
  if (response.contentLength !== undefined && response.contentLength !== sizeBytes) {
    throw new Error(`Content-Length ${response.contentLength} but the body had ${sizeBytes} bytes`);
  }
  return { kind: 'present', md5: hash.digest('base64'), sizeBytes, metadata: response.metadata ?? {} };
}

function sameState(a: BlobState, b: BlobState): boolean {
  if (a.kind === 'absent' || b.kind === 'absent') return a.kind === b.kind;
  return a.md5 === b.md5 && a.sizeBytes === b.sizeBytes && sameMetadata(a.metadata, b.metadata);
}

function sameMetadata(a: Metadata, b: Metadata): boolean {
  const canonical = (m: Metadata) => JSON.stringify(Object.entries(m).map(([k, v]) => [k.toLowerCase(), v]).sort());
  return canonical(a) === canonical(b);
}

function describe(state: BlobState): string {
  return state.kind === 'absent' ? 'absent' : `${state.sizeBytes}B md5=${state.md5} meta=${JSON.stringify(state.metadata)}`;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message.split('\n')[0]}`;
}

// ---------------------------------------------------------------------------------------------

function containerOf(server: ProcessServer): ContainerClient {
  const credential = new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY);
  return new BlobServiceClient(server.blobUrl, credential, { retryOptions: { maxTries: 1 } }).getContainerClient(CONTAINER);
}

test('acknowledged writes survive kill -9 of the server, round after round', { timeout: 180_000 }, async () => {
  // Goal: every 2xx is durable and a crash never leaves a half-visible blob. Method: see header.
  const seed = process.env.CRASH_SEED ? Number(process.env.CRASH_SEED) >>> 0 : randomInt(0x7fff_ffff);
  const rng = new Prng(seed);
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-crash-'));
  console.log(`[crash] seed=${seed} rounds=${ROUNDS} writers=${WRITERS} durability=${process.env.CRASH_DURABILITY ?? 'fsync'} dataDir=${dataDir} (replay: CRASH_SEED=${seed})`);
  const model = new Model();
  const writers = Array.from({ length: WRITERS }, (_, i) => new Writer(i, seed));
  const stats: Stats = { acked: { 'put-small': 0, 'put-blocks': 0, delete: 0, 'set-metadata': 0 }, inFlightAtKill: 0, blobsVerified: 0, bytesVerified: 0 };
  const problems: string[] = [];
  const violations: string[] = [];
  let server: ProcessServer | undefined;
  const started = performance.now();
  try {
    server = await startProcessServer({ dataDir, args: SERVER_ARGS });
    await containerOf(server).create();
    for (let index = 1; index <= ROUNDS; index++) {
      const round: Round = { index, container: containerOf(server), stopping: false };
      const ackedBefore = totalAcked(stats);
      const running = writers.map((w) => runWriter(w, round, model, stats, problems));
      const killDelayMs = rng.int(KILL_DELAY_MIN_MS, KILL_DELAY_MAX_MS);
      await sleep(killDelayMs);
      round.stopping = true;
      await server.kill();
      await Promise.all(running);
      problems.push(...serverErrors(server, `server killed in round ${index}`));
      server = await startProcessServer({ dataDir, args: SERVER_ARGS });
      const found = await verify(containerOf(server), model, `after round ${index}`, stats);
      violations.push(...found.violations);
      const line = `[crash] round ${index}: killed after ${killDelayMs} ms, ${totalAcked(stats) - ackedBefore} ops acked, ` +
        `${found.violations.length} violations`;
      console.log(line);
      if (found.fatal) break;
    }
    await server.stop();
    problems.push(...serverErrors(server, 'final verification'));
  } catch (error) {
    if (server) console.log(`[crash] server output:\n${server.output()}`);
    throw error;
  } finally {
    await server?.kill();
  }
  const summary = `[crash] seed=${seed} rounds=${ROUNDS} acked=${JSON.stringify(stats.acked)} inFlightAtKill=${stats.inFlightAtKill} ` +
    `verified=${stats.blobsVerified} blobs/${(stats.bytesVerified / (1024 * 1024)).toFixed(1)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`;
  console.log(summary);
  const failures = [...violations, ...problems];
  if (failures.length > 0) console.log(`[crash] data dir kept for inspection: ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
  assert.deepEqual(failures, [], `seed ${seed}: ${failures.length} durability violations or server errors:\n${failures.join('\n')}`);
  assert.ok(totalAcked(stats) > 0, 'no operation was acknowledged at all');
});

/**
 * Error-level log lines of one server life (a failed assert, a failed GC run). The server logs
 * them as JSON lines on stderr; GC reports are echoed so a run shows whether startup GC ran.
 */
function serverErrors(server: ProcessServer, when: string): string[] {
  const lines = server.output().split('\n').filter((line) => line.startsWith('{'));
  for (const line of lines.filter((l) => l.includes('"event":"gc"'))) console.log(`[crash] ${when}: ${line}`);
  return lines.filter((line) => line.includes('"level":"error"')).map((line) => `${when}: server logged ${line}`);
}

function totalAcked(stats: Stats): number {
  return Object.values(stats.acked).reduce((a, b) => a + b, 0);
}
