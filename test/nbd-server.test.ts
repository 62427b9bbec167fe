// The NBD server (src/disks/nbd) against real clients from Debian's qemu-utils: qemu-io, qemu-img
// and qemu-nbd --list. Goal: what a client writes over NBD lands in the page engine exactly
// (validRanges and diffs between frozen views show the written and trimmed ranges, nothing
// more), bytes round-trip, one writer at a time, read-only exports refuse writes with EPERM.
// Method: a real engine (SQLite + extent files) in a temp dir, a server on an ephemeral port and
// a unix socket, the qemu tools as clients; a 40-line raw client only for what the qemu tools
// cannot send (a WRITE to a read-only export, an out-of-range READ, holding a session open).
// Skipped only when qemu-io is missing (apt-get install qemu-utils; .ci/run installs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SqliteMetaStore } from '../src/engine/meta/sqlite-meta-store.js';
import { ExtentBlockStore } from '../src/engine/blocks/extent-block-store.js';
import { MetaPageStore } from '../src/engine/pages/meta-page-store.js';
import { spansToBuffer } from '../src/engine/pages/page-bytes.js';
import { objectSource, viewSource, type ByteRange, type PageObjectId, type PageSource, type PageViewId } from '../src/engine/pages/page-store.js';
import { createLogger } from '../src/platform/log.js';
import { monotonicMs } from '../src/platform/clock.js';
import { createNbdServer, type NbdServer } from '../src/disks/nbd/server.js';
import { StaticNbdExports } from '../src/disks/nbd/exports.js';

const run = promisify(execFile);
const KIB = 1024;
const MIB = 1024 * KIB;
const hasQemuIo = spawnSync('qemu-io', ['--version']).status === 0;
const skip = hasQemuIo ? false : 'qemu-io is missing: apt-get install qemu-utils (see .ci/run)';

interface Env {
  dir: string;
  meta: SqliteMetaStore;
  blocks: ExtentBlockStore;
  pages: MetaPageStore;
  exports: StaticNbdExports;
  server: NbdServer;
  port: number;
  socketPath: string;
  url(name: string): string;
  create(name: string, sizeBytes: number): Promise<PageObjectId>;
  freeze(objectId: PageObjectId): Promise<PageViewId>;
  bytes(source: PageSource, range: ByteRange): Promise<Buffer>;
  close(): Promise<void>;
}

async function startEnv(durability: 'fsync' | 'process' = 'process'): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-nbd-'));
  const meta = new SqliteMetaStore({ path: join(dir, 'meta.sqlite'), durability });
  const blocks = new ExtentBlockStore({ dir: join(dir, 'blocks'), durability });
  const pages = new MetaPageStore();
  const exports = new StaticNbdExports();
  const server = createNbdServer({ meta, blocks, pages, exports, logger: createLogger('warn') });
  const port = await server.listenTcp('127.0.0.1', 0);
  const socketPath = join(dir, 'nbd.sock');
  await server.listenUnix(socketPath);
  return {
    dir, meta, blocks, pages, exports, server, port, socketPath,
    url: (name) => `nbd://127.0.0.1:${port}/${name}`,
    async create(name, sizeBytes) {
      const objectId = await meta.write((tx) => pages.create(tx, sizeBytes));
      exports.set(name, objectSource(objectId), sizeBytes);
      return objectId;
    },
    freeze: (objectId) => meta.write((tx) => pages.freeze(tx, objectId)),
    async bytes(source, range) {
      return spansToBuffer(blocks, await meta.read((tx) => pages.read(tx, source, range)));
    },
    async close() {
      await server.close();
      await meta.close();
      await blocks.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs qemu-io with -c commands; fails the test on a non-zero exit or an error line. */
async function qemuIo(target: string, commands: string[], extra: string[] = []): Promise<string> {
  const args = ['-f', 'raw', ...extra, ...commands.flatMap((c) => ['-c', c]), target];
  const { stdout, stderr } = await run('qemu-io', args);
  const out = stdout + stderr;
  assert.doesNotMatch(out, /failed|error|Pattern verification/i, `qemu-io ${args.join(' ')}:\n${out}`);
  return out;
}

async function qemuIoFails(target: string, commands: string[], extra: string[] = []): Promise<string> {
  const args = ['-f', 'raw', ...extra, ...commands.flatMap((c) => ['-c', c]), target];
  try {
    const { stdout, stderr } = await run('qemu-io', args);
    return stdout + stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

const r = (start: number, end: number): ByteRange => ({ start, end });

test('qemu-io writes land in the page engine exactly: validRanges, diffs of frozen views, bytes', { skip, timeout: 30_000 }, async () => {
  const env = await startEnv();
  try {
    const disk = await env.create('disk', 16 * MIB);
    const before = await env.freeze(disk);
    await qemuIo(env.url('disk'), ['write -P 0xaa 0 64k', 'write -P 0xbb 1M 4k', 'write -P 0xcc 5M 128k', 'flush']);
    const after = await env.freeze(disk);
    const diff = await env.meta.read((tx) => env.pages.diff(tx, before, viewSource(after)));
    assert.deepEqual(diff, { written: [r(0, 64 * KIB), r(MIB, MIB + 4 * KIB), r(5 * MIB, 5 * MIB + 128 * KIB)], cleared: [] });
    assert.deepEqual(await env.bytes(objectSource(disk), r(MIB, MIB + 4 * KIB)), Buffer.alloc(4 * KIB, 0xbb));
    await qemuIo(env.url('disk'), ['read -P 0xaa 0 64k', 'read -P 0xbb 1M 4k', 'read -P 0xcc 5M 128k', 'read -P 0 64k 960k']);

    // Unaligned write: the edge pages are read-modify-written; the neighbours keep their bytes.
    await qemuIo(env.url('disk'), ['write -P 0xdd 700 600']);
    await qemuIo(env.url('disk'), ['read -P 0xaa 0 700', 'read -P 0xdd 700 600', 'read -P 0xaa 1300 64212']);
    // Unaligned write into unwritten space: only the touched pages become valid, zeros around.
    await qemuIo(env.url('disk'), ['write -P 0xee 3000000 100', 'read -P 0 2999808 192', 'read -P 0xee 3000000 100', 'read -P 0 3000100 292']);

    // Discard: whole pages inside are cleared, partial pages zero-written.
    await qemuIo(env.url('disk'), ['discard 5M 64k', 'discard 1M 4k', 'flush']);
    await qemuIo(env.url('disk'), ['read -P 0 5M 64k', 'read -P 0xcc 5184k 64k', 'read -P 0 1M 4k']);
    const valid = await env.meta.read((tx) => env.pages.validRanges(tx, objectSource(disk)));
    assert.deepEqual(valid, [r(0, 64 * KIB), r(2999808, 3000320), r(5 * MIB + 64 * KIB, 5 * MIB + 128 * KIB)]);
    const since = await env.meta.read((tx) => env.pages.diff(tx, after, objectSource(disk)));
    assert.deepEqual(since, { written: [r(512, 1536), r(2999808, 3000320)], cleared: [r(MIB, MIB + 4 * KIB), r(5 * MIB, 5 * MIB + 64 * KIB)] });

    // Write zeroes without -u (no unmap): QEMU sets NO_HOLE, so the pages stay written, as zeros.
    await qemuIo(env.url('disk'), ['write -z 32k 16k', 'read -P 0 32k 16k', 'read -P 0xaa 48k 16k']);
    assert.equal(env.exports.openCount, 0, 'every session released its export');
  } finally {
    await env.close();
  }
});

test('qemu-img info and convert: a raw file into the export and back out, byte for byte', { skip, timeout: 40_000 }, async (t) => {
  const env = await startEnv();
  try {
    const sizeBytes = 64 * MIB;
    const disk = await env.create('disk', sizeBytes);
    const info = await run('qemu-img', ['info', '--output=json', env.url('disk')]);
    assert.equal(JSON.parse(info.stdout)['virtual-size'], sizeBytes);

    const source = join(env.dir, 'source.raw');
    const back = join(env.dir, 'back.raw');
    const data = randomBytes(sizeBytes);
    writeFileSync(source, data);
    const started = monotonicMs();
    await run('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', source, env.url('disk')]);
    const seconds = (monotonicMs() - started) / 1000;
    t.diagnostic(`qemu-img convert -n -f raw -O raw <64 MiB random> nbd://…/disk: ${(64 / seconds).toFixed(0)} MiB/s (${(seconds * 1000).toFixed(0)} ms, durability=process)`);
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', env.url('disk'), back]);
    assert.equal(md5(readFileSync(back)), md5(data));
    const valid = await env.meta.read((tx) => env.pages.validRanges(tx, objectSource(disk)));
    assert.deepEqual(valid, [r(0, sizeBytes)]);
  } finally {
    await env.close();
  }
});

test('one writer at a time: a second writer is refused at GO; readers (ro/ prefix) are served', { skip, timeout: 20_000 }, async () => {
  const env = await startEnv();
  try {
    await env.create('disk', 4 * MIB);
    const holder = await RawClient.go(env.port, 'disk');
    assert.equal(holder.goReply, 'ack');
    assert.equal((await holder.request(1, 0, 4096, Buffer.alloc(4096, 0x11))).errno, 0);

    const refused = await qemuIoFails(env.url('disk'), ['read 0 4k']);
    assert.match(refused, /already has a writer/);
    const second = await RawClient.go(env.port, 'disk');
    assert.equal(second.goReply, 'policy');
    second.close();

    await qemuIo(env.url('ro/disk'), ['read -P 0x11 0 4k'], ['-r']);
    const reader = await RawClient.go(env.port, 'ro/disk');
    assert.equal(reader.goReply, 'ack');
    assert.equal((await reader.request(1, 0, 512, Buffer.alloc(512))).errno, 1, 'a reader gets EPERM on WRITE');
    reader.close();

    await holder.disconnect();
    await qemuIo(env.url('disk'), ['write -P 0x22 0 4k', 'read -P 0x22 0 4k']);
  } finally {
    await env.close();
  }
});

test('a frozen view is a read-only export: EPERM for writes, EINVAL out of range; the unix socket and LIST work', { skip, timeout: 20_000 }, async () => {
  const env = await startEnv();
  try {
    const disk = await env.create('disk', 2 * MIB);
    await qemuIo(`nbd+unix:///disk?socket=${env.socketPath}`, ['write -P 0x5a 512k 8k']);
    const view = await env.freeze(disk);
    env.exports.set('disk-snap', viewSource(view), 2 * MIB);
    await qemuIo(`nbd+unix:///disk?socket=${env.socketPath}`, ['write -P 0x6b 512k 8k']);

    await qemuIo(env.url('disk-snap'), ['read -P 0x5a 512k 8k'], ['-r']);
    assert.match(await qemuIoFails(env.url('disk-snap'), ['write 0 4k']), /read-only|Permission denied/i);
    const client = await RawClient.go(env.port, 'disk-snap');
    assert.equal(client.goReply, 'ack');
    assert.equal((await client.request(1, 0, 4096, Buffer.alloc(4096))).errno, 1, 'WRITE → EPERM');
    assert.equal((await client.request(4, 0, 4096)).errno, 1, 'TRIM → EPERM');
    assert.equal((await client.request(0, 2 * MIB - 512, 1024)).errno, 22, 'READ past the end → EINVAL');
    const read = await client.request(0, 512 * KIB, 8 * KIB);
    assert.equal(read.errno, 0);
    assert.deepEqual(read.data, Buffer.alloc(8 * KIB, 0x5a));
    assert.equal((await client.request(3, 0, 0)).errno, 0, 'FLUSH');
    await client.disconnect();

    const list = await run('qemu-nbd', ['--list', '-k', env.socketPath]);
    assert.match(list.stdout, /export: 'disk'/);
    assert.match(list.stdout, /export: 'disk-snap'/);
    assert.deepEqual(await env.bytes(objectSource(disk), r(512 * KIB, 520 * KIB)), Buffer.alloc(8 * KIB, 0x6b));
  } finally {
    await env.close();
  }
});

test('concurrent unaligned writes to one page both survive; a partial-page trim zeroes only its bytes', { skip, timeout: 20_000 }, async () => {
  // Goal: read-modify-write of edge pages is ordered (range locks), so in-flight writes to
  // different bytes of one page never undo each other. Method: pipeline requests on one connection.
  const env = await startEnv();
  try {
    const disk = await env.create('disk', MIB);
    const client = await RawClient.go(env.port, 'disk');
    const writes = [];
    for (let i = 0; i < 32; i++) writes.push({ type: 1, offset: 4096 + i * 50, length: 50, data: Buffer.alloc(50, i + 1) });
    const replies = await client.pipeline(writes);
    assert.deepEqual(replies.map((reply) => reply.errno), writes.map(() => 0));
    const expected = Buffer.alloc(1600);
    for (let i = 0; i < 32; i++) expected.fill(i + 1, i * 50, i * 50 + 50);
    assert.deepEqual(await env.bytes(objectSource(disk), r(4096, 4096 + 1600)), expected);

    assert.equal((await client.request(4, 4096 + 100, 200)).errno, 0, 'TRIM inside one page');
    expected.fill(0, 100, 300);
    assert.deepEqual((await client.request(0, 4096, 1600)).data, expected);
    const valid = await env.meta.read((tx) => env.pages.validRanges(tx, objectSource(disk)));
    assert.deepEqual(valid, [r(4096, 4096 + 2048)]);
    await client.disconnect();
  } finally {
    await env.close();
  }
});

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** The smallest NBD client: fixed newstyle, GO, simple replies; one request at a time. */
class RawClient {
  #buffered = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  #cookie = 1n;
  goReply: 'ack' | 'policy' | 'unknown' | 'other' = 'other';

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffered = Buffer.concat([this.#buffered, chunk]);
      this.#wake?.();
    });
  }

  static async go(port: number, name: string): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new RawClient(socket);
    await client.#read(18);
    const nameBytes = Buffer.from(name);
    const option = Buffer.alloc(16 + 4 + nameBytes.length + 2);
    option.writeBigUInt64BE(0x49484156454f5054n, 0);
    option.writeUInt32BE(7, 8);
    option.writeUInt32BE(4 + nameBytes.length + 2, 12);
    option.writeUInt32BE(nameBytes.length, 16);
    nameBytes.copy(option, 20);
    socket.write(Buffer.concat([Buffer.from([0, 0, 0, 3]), option]));
    for (;;) {
      const header = await client.#read(20);
      const type = header.readUInt32BE(12);
      await client.#read(header.readUInt32BE(16));
      if (type === 3) continue; // REP_INFO
      client.goReply = type === 1 ? 'ack' : type === 2 ** 31 + 2 ? 'policy' : type === 2 ** 31 + 6 ? 'unknown' : 'other';
      return client;
    }
  }

  async request(type: number, offset: number, length: number, data?: Buffer): Promise<{ errno: number; data?: Buffer }> {
    const header = Buffer.alloc(28);
    header.writeUInt32BE(0x25609513, 0);
    header.writeUInt16BE(type, 6);
    header.writeBigUInt64BE(this.#cookie++, 8);
    header.writeBigUInt64BE(BigInt(offset), 16);
    header.writeUInt32BE(length, 24);
    this.socket.write(data ? Buffer.concat([header, data]) : header);
    const reply = await this.#read(16);
    assert.equal(reply.readUInt32BE(0), 0x67446698);
    const errno = reply.readUInt32BE(4);
    return type === 0 && errno === 0 ? { errno, data: await this.#read(length) } : { errno };
  }

  /** Sends every request before reading any reply (the server runs them concurrently). */
  async pipeline(requests: Array<{ type: number; offset: number; length: number; data?: Buffer }>): Promise<Array<{ errno: number }>> {
    const first = this.#cookie;
    this.socket.write(Buffer.concat(requests.map((q) => {
      const header = Buffer.alloc(28);
      header.writeUInt32BE(0x25609513, 0);
      header.writeUInt16BE(q.type, 6);
      header.writeBigUInt64BE(this.#cookie++, 8);
      header.writeBigUInt64BE(BigInt(q.offset), 16);
      header.writeUInt32BE(q.length, 24);
      return q.data ? Buffer.concat([header, q.data]) : header;
    })));
    const replies: Array<{ errno: number }> = requests.map(() => ({ errno: -1 }));
    for (let i = 0; i < requests.length; i++) {
      const reply = await this.#read(16);
      const slot = replies[Number(reply.readBigUInt64BE(8) - first)];
      assert.ok(slot);
      slot.errno = reply.readUInt32BE(4);
    }
    return replies;
  }

  /** Sends DISC and waits for the server to close the connection. */
  async disconnect(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    const header = Buffer.alloc(28);
    header.writeUInt32BE(0x25609513, 0);
    header.writeUInt16BE(2, 6);
    this.socket.end(header);
    await closed;
  }

  close(): void {
    this.socket.destroy();
  }

  async #read(bytes: number): Promise<Buffer> {
    while (this.#buffered.length < bytes) await new Promise<void>((resolve) => (this.#wake = resolve));
    const out = this.#buffered.subarray(0, bytes);
    this.#buffered = this.#buffered.subarray(bytes);
    return out;
  }
}
