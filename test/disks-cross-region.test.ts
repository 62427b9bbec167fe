// Copying a chain of incremental snapshots to another region, both ways Azure users do it
// (spec/disks-snapshots.md §7): CopyStart, which ships only what changed since the last copied
// snapshot of the family, and the manual base-blob method scripted with @azure/storage-blob.
// Goal: the target region restores every point byte for byte, and the bytes shipped are the changed
// bytes (≤ 1.05 × their sum). Method: real SDKs against a real Nimbus with regions eastus and westus;
// the disk changes between snapshots as a VM would change it (page writes and trims).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import type { Disk } from '@azure/arm-compute';
import type { TestServer } from './helpers/server.js';
import { armRequest } from './helpers/arm.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { diskBlobRef, startDiskServer, download, FAST_POLL, pageClient, patternBytes, uploadDisk, type DiskClients } from './helpers/disks.js';

const MIB = 1024 * 1024;
const GROUP = 'dr-rg';
const API = 'api-version=2024-03-02';

const setup = (t: TestContext): Promise<TestServer & DiskClients> => startDiskServer(t, GROUP);

/** Writes or trims a few ranges of the disk (step k of a seeded change script). */
async function changeDisk(srv: TestServer, disk: Disk, step: number): Promise<void> {
  const ref = diskBlobRef(disk, 'eastus');
  const now = srv.clock.nowMs();
  const at = ((step * 1_234_567) % (7 * MIB)) & ~511;
  const bytes = patternBytes(96 * 1024 + step * 512, 100 + step);
  await srv.nimbus.api.putPages(ref, { start: at, end: at + bytes.length }, { stream: Readable.from([bytes]), lengthBytes: bytes.length }, { conditions: {} }, now);
  if (step % 2 === 0) {
    const trim = ((step * 777_777) % (6 * MIB)) & ~511;
    await srv.nimbus.api.clearPages(ref, { start: trim, end: trim + 32 * 1024 }, { conditions: {} }, now);
  }
}

async function properties(srv: TestServer, id: string | undefined): Promise<Record<string, unknown>> {
  const res = await armRequest(srv, 'GET', `${id ?? ''}?${API}`, { token: srv.nimbus.armDevToken });
  assert.equal(res.status, 200);
  return res.body.properties as Record<string, unknown>;
}

async function readSnapshot(c: DiskClients, name: string): Promise<Buffer> {
  const { accessSAS } = await c.compute.snapshots.grantAccess(GROUP, name, { access: 'Read', durationInSeconds: 600 });
  const bytes = await download(accessSAS);
  await c.compute.snapshots.revokeAccess(GROUP, name);
  return bytes;
}

async function readDisk(c: DiskClients, name: string): Promise<Buffer> {
  const { accessSAS } = await c.compute.disks.grantAccess(GROUP, name, { access: 'Read', durationInSeconds: 600 });
  return download(accessSAS);
}

/** A disk in eastus and a chain of `count` incremental snapshots with changes between them. */
async function chain(c: TestServer & DiskClients, count: number): Promise<{ disk: Disk; ids: string[]; storedBytes: number[] }> {
  const disk = await uploadDisk(c, GROUP, 'src', 'eastus', Buffer.concat([patternBytes(2 * MIB, 42), Buffer.alloc(6 * MIB)]));
  const ids: string[] = [];
  const storedBytes: number[] = [];
  for (let k = 1; k <= count; k++) {
    if (k > 1) await changeDisk(c, disk, k);
    const s = await c.compute.snapshots.createOrUpdate(GROUP, `s${k}`, { location: 'eastus', creationData: { createOption: 'Copy', sourceResourceId: disk.id }, incremental: true });
    ids.push(s.id ?? '');
    storedBytes.push(Number((await properties(c, s.id)).nimbusStoredBytes));
  }
  return { disk, ids, storedBytes };
}

test('CopyStart copies a chain of incremental snapshots to another region shipping only the diffs; each copy restores byte for byte', async (t) => {
  const c = await setup(t);
  const { ids, storedBytes } = await chain(c, 4);

  // 1. The first copy, raw: 201 + Azure-AsyncOperation, Updating until completionPercent reaches 100.
  const first = await armRequest(c, 'PUT', `/subscriptions/${c.subscriptionId}/resourceGroups/${GROUP}/providers/Microsoft.Compute/snapshots/w1?${API}`, {
    token: c.nimbus.armDevToken,
    body: { location: 'westus', properties: { creationData: { createOption: 'CopyStart', sourceResourceId: ids[0] }, incremental: true } },
  });
  assert.equal(first.status, 201);
  const firstProps = first.body.properties as Record<string, unknown>;
  assert.equal(firstProps.provisioningState, 'Updating');
  assert.ok(Number(firstProps.completionPercent) < 100);
  const operation = String(first.headers['azure-asyncoperation']);
  assert.match(operation, /\/providers\/Microsoft\.Compute\/locations\/westus\/operations\//);
  await c.nimbus.disks.settleCopies();
  const status = await armRequest(c, 'GET', new URL(operation).pathname + new URL(operation).search, { token: c.nimbus.armDevToken });
  assert.equal(status.body.status, 'Succeeded');
  assert.equal(status.body.percentComplete, 100);

  // 2. The rest through the SDK's poller, in order.
  for (let k = 2; k <= ids.length; k++) {
    const copied = await c.compute.snapshots.createOrUpdate(GROUP, `w${k}`, {
      location: 'westus', creationData: { createOption: 'CopyStart', sourceResourceId: ids[k - 1] }, incremental: true,
    }, FAST_POLL);
    assert.equal(copied.provisioningState, 'Succeeded');
    assert.equal(copied.completionPercent, 100);
    assert.equal(copied.location, 'westus');
    assert.equal(copied.sku?.name, 'Standard_LRS', 'westus has no zones');
  }
  const shipped: number[] = [];
  for (let k = 1; k <= ids.length; k++) shipped.push(Number((await properties(c, `/subscriptions/${c.subscriptionId}/resourceGroups/${GROUP}/providers/Microsoft.Compute/snapshots/w${k}`)).nimbusBytesCopied));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  t.diagnostic(`CopyStart shipped ${sum(shipped)} bytes for ${sum(storedBytes)} changed bytes (${shipped.join(', ')} vs ${storedBytes.join(', ')})`);
  assert.ok(sum(shipped) <= 1.05 * sum(storedBytes), 'ships only the changes');
  assert.deepEqual(shipped, storedBytes);

  // 3. Every copied point reads as its source; a disk restored in westus from the last one too.
  for (let k = 1; k <= ids.length; k++) assert.ok((await readSnapshot(c, `w${k}`)).equals(await readSnapshot(c, `s${k}`)), `w${k} = s${k}`);
  await c.compute.disks.createOrUpdate(GROUP, 'dr-disk', { location: 'westus', creationData: { createOption: 'Copy', sourceResourceId: `/subscriptions/${c.subscriptionId}/resourceGroups/${GROUP}/providers/Microsoft.Compute/snapshots/w4` } });
  assert.ok((await readDisk(c, 'dr-disk')).equals(await readSnapshot(c, 's4')));

  // 4. Copied snapshots diff like their sources; copying out of order is refused.
  const sas = async (name: string) => (await c.compute.snapshots.grantAccess(GROUP, name, { access: 'Read', durationInSeconds: 600 })).accessSAS ?? '';
  const targetDiff = await pageClient(await sas('w3')).getPageRangesDiffForManagedDisks(0, 0, await sas('w2'));
  const sourceDiff = await pageClient(await sas('s3')).getPageRangesDiffForManagedDisks(0, 0, await sas('s2'));
  assert.deepEqual(targetDiff.pageRange, sourceDiff.pageRange);
  assert.deepEqual(targetDiff.clearRange, sourceDiff.clearRange);
  await expectAzureError(c.compute.snapshots.createOrUpdate(GROUP, 'w-late', {
    location: 'westus', creationData: { createOption: 'CopyStart', sourceResourceId: ids[1] }, incremental: true,
  }, FAST_POLL), 409, 'OperationNotAllowed');
});

test('manual method: base page blob in the other region + diffs applied with Put Page From URL; every restore point restores byte for byte', async (t) => {
  const c = await setup(t);
  const { ids, storedBytes } = await chain(c, 4);
  // The user's storage in westus.
  const account = await c.storage.storageAccounts.create(GROUP, 'backupwest', { location: 'westus', sku: { name: 'Standard_LRS' }, kind: 'StorageV2' });
  const { keys } = await c.storage.storageAccounts.listKeys(GROUP, 'backupwest');
  const service = new BlobServiceClient(account.primaryEndpoints?.blob ?? '', new StorageSharedKeyCredential('backupwest', keys?.[0]?.value ?? ''), { retryOptions: { maxTries: 1 } });
  const container = service.getContainerClient('backups');
  await container.create();
  const base = container.getPageBlobClient('src-base.vhd');

  const sasOf = async (k: number) => (await c.compute.snapshots.grantAccess(GROUP, `s${k}`, { access: 'Read', durationInSeconds: 3600 })).accessSAS ?? '';
  const restorePoints: string[] = [];
  let shipped = 0;
  let previousSas = '';
  for (let k = 1; k <= ids.length; k++) {
    const sas = await sasOf(k);
    const ranges = k === 1 ? await pageClient(sas).getPageRanges() : await pageClient(sas).getPageRangesDiffForManagedDisks(0, 0, previousSas);
    if (k === 1) await base.create((await pageClient(sas).getProperties()).contentLength ?? 0);
    for (const r of ranges.clearRange ?? []) await base.clearPages(r.offset, (r.count ?? 0) + 1);
    for (const r of ranges.pageRange ?? []) {
      for (let at = r.offset, last = r.offset + (r.count ?? 0); at <= last; at += 4 * MIB) {
        const count = Math.min(4 * MIB, last + 1 - at);
        await base.uploadPagesFromURL(sas, at, at, count);
        shipped += count;
      }
    }
    restorePoints.push((await base.createSnapshot()).snapshot ?? '');
    previousSas = sas;
  }
  const changed = storedBytes.reduce((a, b) => a + b, 0);
  t.diagnostic(`manual method shipped ${shipped} bytes for ${changed} changed bytes`);
  assert.ok(shipped <= 1.05 * changed);

  // Restore: a disk in westus from each blob snapshot (Import), and from the base blob itself.
  for (let k = 1; k <= ids.length; k++) {
    const sourceUri = base.withSnapshot(restorePoints[k - 1] ?? '').url;
    const disk = await c.compute.disks.createOrUpdate(GROUP, `restore${k}`, {
      location: 'westus', creationData: { createOption: 'Import', sourceUri, storageAccountId: account.id },
    });
    assert.equal(disk.creationData?.createOption, 'Import');
    assert.ok((await readDisk(c, `restore${k}`)).equals(await readSnapshot(c, `s${k}`)), `restore point ${k}`);
  }
  await c.compute.disks.createOrUpdate(GROUP, 'restore-base', { location: 'westus', creationData: { createOption: 'Import', sourceUri: base.url, storageAccountId: account.id } });
  assert.ok((await readDisk(c, 'restore-base')).equals(await readSnapshot(c, `s${ids.length}`)));
  await expectAzureError(c.compute.disks.createOrUpdate(GROUP, 'bad', {
    location: 'westus', creationData: { createOption: 'Import', sourceUri: `${container.url}/missing.vhd` },
  }), 400, 'InvalidParameter');
});
