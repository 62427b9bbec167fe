// The MetadataStore contract: every implementation (SQLite today, PostgreSQL later) must pass it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetaStore } from '../../src/engine/meta/meta-store.js';

const chunk = (extentId: number, offset: number, length: number) => ({ extentId, offset, length });

export function metaStoreContract(name: string, open: () => Promise<{ meta: MetaStore; cleanup(): Promise<void> }>): void {
  const withStore = (title: string, body: (meta: MetaStore) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const { meta, cleanup } = await open();
      try {
        await body(meta);
      } finally {
        await cleanup();
      }
    });

  withStore('settings round-trip and overwrite', async (meta) => {
    await meta.write((tx) => tx.putSetting('acct', 'k', { a: 1 }));
    await meta.write((tx) => tx.putSetting('acct', 'k', { a: 2 }));
    assert.deepEqual(await meta.read((tx) => tx.getSetting('acct', 'k')), { a: 2 });
    assert.equal(await meta.read((tx) => tx.getSetting('other', 'k')), undefined);
  });

  withStore('a failed transaction leaves nothing behind', async (meta) => {
    await assert.rejects(meta.write(async (tx) => {
      await tx.insertBucket({ scope: 's', name: 'b', createdMs: 1, deletedMs: null, attrs: {} });
      throw new Error('boom');
    }), /boom/);
    assert.equal(await meta.read((tx) => tx.getBucket('s', 'b')), undefined);
  });

  withStore('an entry and its content pieces in one lookup equal getEntry + getContentPieces', async (meta) => {
    const bucketId = await meta.write((tx) => tx.insertBucket({ scope: 's', name: 'b', createdMs: 1, deletedMs: null, attrs: {} }));
    await meta.write(async (tx) => {
      const first = await tx.createBlock([{ inline: Buffer.from('abc'), length: 3 }, chunk(7, 100, 50)]);
      const second = await tx.createBlock([chunk(8, 0, 20)]);
      const contentId = await tx.createContent([{ label: 'x', blockId: first }, { label: 'y', blockId: second }, { label: 'z', blockId: first }]);
      await tx.putEntry({ bucketId, name: 'full', sub: '~', tag: 0, contentId, sizeBytes: 126, attrs: { k: 'v' } });
      await tx.putEntry({ bucketId, name: 'none', sub: '~', tag: 0, contentId: null, sizeBytes: 0, attrs: {} });
    });
    for (const name of ['full', 'none']) {
      const both = await meta.read((tx) => tx.getEntryWithPieces(bucketId, name, '~'));
      const entry = await meta.read((tx) => tx.getEntry(bucketId, name, '~'));
      const pieces = entry?.contentId == null ? [] : await meta.read((tx) => tx.getContentPieces(entry.contentId ?? 0));
      assert.deepEqual(both, { entry, pieces }, name);
    }
    assert.equal((await meta.read((tx) => tx.getEntryWithPieces(bucketId, 'full', '~')))?.pieces.length, 5);
    assert.equal(await meta.read((tx) => tx.getEntryWithPieces(bucketId, 'missing', '~')), undefined);
  });

  withStore('buckets: live names are unique, deleted ones are kept apart', async (meta) => {
    const id = await meta.write((tx) => tx.insertBucket({ scope: 's', name: 'b', createdMs: 1, deletedMs: null, attrs: { x: 1 } }));
    await assert.rejects(meta.write((tx) => tx.insertBucket({ scope: 's', name: 'b', createdMs: 2, deletedMs: null, attrs: {} })));
    await meta.write((tx) => tx.updateBucket(id, { deletedMs: 5 }));
    await meta.write((tx) => tx.insertBucket({ scope: 's', name: 'b', createdMs: 6, deletedMs: null, attrs: {} }));
    const live = await meta.read((tx) => tx.listBuckets('s', { deleted: false, limit: 10 }));
    const all = await meta.read((tx) => tx.listBuckets('s', { deleted: true, limit: 10 }));
    assert.equal(live.length, 1);
    assert.equal(all.length, 2);
  });

  withStore('entries list in (name, sub) order, seek after a cursor, filter by prefix and tag', async (meta) => {
    const bucketId = await meta.write((tx) => tx.insertBucket({ scope: 's', name: 'b', createdMs: 1, deletedMs: null, attrs: {} }));
    const names = ['b/2', 'a', 'b/1', 'c', 'b0', 'b/1'];
    await meta.write(async (tx) => {
      for (const [i, n] of names.entries()) {
        await tx.putEntry({ bucketId, name: n, sub: i === 5 ? 'A' : '~', tag: i === 5 ? 1 : 0, contentId: null, sizeBytes: i, attrs: {} });
      }
    });
    const all = await meta.read((tx) => tx.listEntries(bucketId, { limit: 100 }));
    assert.deepEqual(all.map((e) => `${e.name}|${e.sub}`), ['a|~', 'b/1|A', 'b/1|~', 'b/2|~', 'b0|~', 'c|~']);
    const prefixed = await meta.read((tx) => tx.listEntries(bucketId, { prefix: 'b/', limit: 100 }));
    assert.deepEqual(prefixed.map((e) => e.name), ['b/1', 'b/1', 'b/2']);
    const after = await meta.read((tx) => tx.listEntries(bucketId, { after: { name: 'b/1', sub: 'A' }, limit: 2 }));
    assert.deepEqual(after.map((e) => `${e.name}|${e.sub}`), ['b/1|~', 'b/2|~']);
    const tagged = await meta.read((tx) => tx.listEntries(bucketId, { tag: 0, prefix: 'b', limit: 100 }));
    assert.deepEqual(tagged.map((e) => e.name), ['b/1', 'b/2', 'b0']);
  });

  withStore('reference counts: shared content survives until its last entry goes, then blocks and live bytes drop', async (meta) => {
    const bucketId = await meta.write((tx) => tx.insertBucket({ scope: 's', name: 'b', createdMs: 1, deletedMs: null, attrs: {} }));
    const contentId = await meta.write(async (tx) => {
      const blockA = await tx.createBlock([chunk(1, 0, 100)]);
      const blockB = await tx.createBlock([chunk(1, 100, 50), chunk(2, 0, 10)]);
      const id = await tx.createContent([{ label: 'a', blockId: blockA }, { label: 'b', blockId: blockB }]);
      await tx.putEntry({ bucketId, name: 'x', sub: '~', tag: 0, contentId: id, sizeBytes: 160, attrs: {} });
      await tx.putEntry({ bucketId, name: 'y', sub: '~', tag: 0, contentId: id, sizeBytes: 160, attrs: {} });
      return id;
    });
    const usage = async () => new Map((await meta.read((tx) => tx.extentUsage())).map((u) => [u.extentId, u.liveBytes]));
    assert.deepEqual(await usage(), new Map([[1, 150], [2, 10]]));
    await meta.write((tx) => tx.deleteEntry(bucketId, 'x', '~'));
    assert.equal((await meta.read((tx) => tx.getContent(contentId))).length, 2);
    await meta.write((tx) => tx.deleteEntry(bucketId, 'y', '~'));
    assert.equal((await meta.read((tx) => tx.getContent(contentId))).length, 0);
    assert.deepEqual(await usage(), new Map([[1, 0], [2, 0]]));
  });

  withStore('staged parts keep their block alive; replacing and clearing releases it', async (meta) => {
    const bucketId = await meta.write((tx) => tx.insertBucket({ scope: 's', name: 'b', createdMs: 1, deletedMs: null, attrs: {} }));
    await meta.write(async (tx) => {
      await tx.stagePart(bucketId, 'x', 'AA==', await tx.createBlock([chunk(3, 0, 10)]), 1);
      await tx.stagePart(bucketId, 'x', 'AA==', await tx.createBlock([chunk(3, 10, 20)]), 2);
    });
    const staged = await meta.read((tx) => tx.listStaged(bucketId, 'x'));
    assert.deepEqual(staged.map((s) => s.sizeBytes), [20]);
    let usage = await meta.read((tx) => tx.extentUsage());
    assert.equal(usage.find((u) => u.extentId === 3)?.liveBytes, 20);
    await meta.write((tx) => tx.clearStaged(bucketId, 'x'));
    usage = await meta.read((tx) => tx.extentUsage());
    assert.equal(usage.find((u) => u.extentId === 3)?.liveBytes ?? 0, 0);
  });

  withStore('dropping a bucket releases everything it referenced', async (meta) => {
    const bucketId = await meta.write((tx) => tx.insertBucket({ scope: 's', name: 'b', createdMs: 1, deletedMs: null, attrs: {} }));
    await meta.write(async (tx) => {
      const id = await tx.createContent([{ label: 'a', blockId: await tx.createBlock([chunk(4, 0, 64)]) }]);
      await tx.putEntry({ bucketId, name: 'x', sub: '~', tag: 0, contentId: id, sizeBytes: 64, attrs: {} });
      await tx.stagePart(bucketId, 'y', 'AA==', await tx.createBlock([chunk(4, 64, 8)]), 1);
    });
    await meta.write((tx) => tx.dropBucket(bucketId));
    const usage = await meta.read((tx) => tx.extentUsage());
    assert.equal(usage.find((u) => u.extentId === 4)?.liveBytes ?? 0, 0);
  });

  withStore('relocating a chunk is a compare-and-set on its old location', async (meta) => {
    const blockId = await meta.write(async (tx) => {
      const id = await tx.createBlock([chunk(5, 0, 10)]);
      const bucketId = await tx.insertBucket({ scope: 's', name: 'b', createdMs: 1, deletedMs: null, attrs: {} });
      await tx.stagePart(bucketId, 'x', 'AA==', id, 1);
      return id;
    });
    assert.equal(await meta.write((tx) => tx.relocateChunk(blockId, 0, chunk(5, 0, 10), chunk(6, 0, 10))), true);
    assert.equal(await meta.write((tx) => tx.relocateChunk(blockId, 0, chunk(5, 0, 10), chunk(7, 0, 10))), false);
    assert.deepEqual(await meta.read((tx) => tx.getChunks(blockId)), [chunk(6, 0, 10)]);
  });
}
