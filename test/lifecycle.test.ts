// Lifecycle management through the service API and the SDK on a real Nimbus with a manual clock:
// policy validation (good and bad documents), tiering and deletion after N days, prefix filters,
// the cheapest-action rule, versions and snapshots, the interplay with versioning and soft delete,
// the schedule, and the run report.
// spec/versioning-softdelete.md §7; rules in src/blob/service/lifecycle/.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.js';
import { enableSoftDelete, enableVersioning, listRows } from './helpers/history.js';
import { DEV_ACCOUNT } from '../src/blob/service/accounts.js';
import { days, seconds } from '../src/platform/clock.js';
import { LifecyclePolicyError, parsePolicy } from '../src/blob/service/lifecycle/policy.js';

async function setup(t: TestContext): Promise<TestServer> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  return srv;
}

const rule = (name: string, definition: unknown, extra: Record<string, unknown> = {}) => ({ name, type: 'Lifecycle', definition, ...extra });
const policyOf = (...rules: unknown[]) => ({ policy: { rules } });
const blockBlobs = { blobTypes: ['blockBlob'] };

async function advance(srv: TestServer, n: number): Promise<void> {
  srv.clock.advance(days(n));
  await srv.runDue();
}

test('policies: a valid document is stored whole; invalid ones are refused with the offending path', async (t) => {
  // Goal: ARM-style validation (code + target) for each documented limit, and GET returning what PUT stored.
  const srv = await setup(t);
  const api = srv.nimbus.api;
  const good = policyOf(rule('archive-logs', {
    filters: { blobTypes: ['blockBlob', 'appendBlob'], prefixMatch: ['logs/app', 'data/'], blobIndexMatch: [{ name: 'Project', op: '==', value: 'Contoso' }] },
    actions: {
      baseBlob: { tierToCool: { daysAfterModificationGreaterThan: 30 }, tierToArchive: { daysAfterModificationGreaterThan: 90, daysAfterLastTierChangeGreaterThan: 7 }, delete: { daysAfterCreationGreaterThan: 2555 } },
      snapshot: { delete: { daysAfterCreationGreaterThan: 90 } },
      version: { tierToCold: { daysAfterCreationGreaterThan: 30 } },
    },
  }), rule('disabled', { filters: blockBlobs, actions: { baseBlob: { tierToCool: { daysAfterLastAccessTimeGreaterThan: 5 }, enableAutoTierToHotFromCool: true } } }, { enabled: false }));
  assert.equal(await api.getManagementPolicy(DEV_ACCOUNT), undefined);
  const stored = await api.setManagementPolicy(DEV_ACCOUNT, good, srv.clock.nowMs());
  assert.equal(stored.policy.rules[0]?.enabled, true);                       // default
  assert.equal(stored.policy.rules[1]?.enabled, false);
  assert.deepEqual((await api.getManagementPolicy(DEV_ACCOUNT))?.policy, stored.policy);
  assert.deepEqual(parsePolicy({ properties: good }), stored.policy);        // a whole ARM body parses too

  const bad: Array<[string, unknown, string, string]> = [
    ['no policy', {}, 'MissingRequiredParameter', 'properties.policy'],
    ['no rules', policyOf(), 'InvalidValuesForRequestParameters', 'properties.policy.rules'],
    ['duplicate names', policyOf(rule('a', { filters: blockBlobs, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 1 } } } }), rule('a', { filters: blockBlobs, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 2 } } } })), 'InvalidValuesForRequestParameters', 'properties.policy.rules[1].name'],
    ['wrong type', policyOf({ name: 'a', type: 'Expiry', definition: {} }), 'InvalidValuesForRequestParameters', 'properties.policy.rules[0].type'],
    ['no blobTypes', policyOf(rule('a', { filters: {}, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 1 } } } })), 'MissingRequiredParameter', 'properties.policy.rules[0].definition.filters.blobTypes'],
    ['page blobs', policyOf(rule('a', { filters: { blobTypes: ['pageBlob'] }, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 1 } } } })), 'InvalidValuesForRequestParameters', 'properties.policy.rules[0].definition.filters.blobTypes[0]'],
    ['11 prefixes', policyOf(rule('a', { filters: { ...blockBlobs, prefixMatch: Array.from({ length: 11 }, (_, i) => `c/${i}`) }, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 1 } } } })), 'InvalidValuesForRequestParameters', 'properties.policy.rules[0].definition.filters.prefixMatch'],
    ['no action', policyOf(rule('a', { filters: blockBlobs, actions: {} })), 'InvalidValuesForRequestParameters', 'properties.policy.rules[0].definition.actions'],
    ['negative days', policyOf(rule('a', { filters: blockBlobs, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: -1 } } } })), 'InvalidValuesForRequestParameters', 'properties.policy.rules[0].definition.actions.baseBlob.delete.daysAfterModificationGreaterThan'],
    ['two ages', policyOf(rule('a', { filters: blockBlobs, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 1, daysAfterCreationGreaterThan: 1 } } } })), 'InvalidValuesForRequestParameters', 'properties.policy.rules[0].definition.actions.baseBlob.delete'],
    ['tier change on tierToCool', policyOf(rule('a', { filters: blockBlobs, actions: { baseBlob: { tierToCool: { daysAfterModificationGreaterThan: 1, daysAfterLastTierChangeGreaterThan: 1 } } } })), 'InvalidValuesForRequestParameters', 'properties.policy.rules[0].definition.actions.baseBlob.tierToCool.daysAfterLastTierChangeGreaterThan'],
    ['modification on a version', policyOf(rule('a', { filters: blockBlobs, actions: { version: { delete: { daysAfterModificationGreaterThan: 1 } } } })), 'InvalidValuesForRequestParameters', 'properties.policy.rules[0].definition.actions.version.delete.daysAfterModificationGreaterThan'],
    ['auto tier without access time', policyOf(rule('a', { filters: blockBlobs, actions: { baseBlob: { tierToCool: { daysAfterModificationGreaterThan: 1 }, enableAutoTierToHotFromCool: true } } })), 'InvalidValuesForRequestParameters', 'properties.policy.rules[0].definition.actions.baseBlob.enableAutoTierToHotFromCool'],
    ['unknown action', policyOf(rule('a', { filters: blockBlobs, actions: { baseBlob: { tierToFreezer: { daysAfterModificationGreaterThan: 1 } } } })), 'InvalidValuesForRequestParameters', 'properties.policy.rules[0].definition.actions.baseBlob.tierToFreezer'],
  ];
  for (const [label, body, code, target] of bad) {
    await assert.rejects(api.setManagementPolicy(DEV_ACCOUNT, body, srv.clock.nowMs()), (error: unknown) => {
      assert.ok(error instanceof LifecyclePolicyError, label);
      assert.equal(error.code, code, label);
      assert.equal(error.details.target, target, label);
      return true;
    });
  }
  assert.deepEqual((await api.getManagementPolicy(DEV_ACCOUNT))?.policy, stored.policy); // unchanged by refusals
  assert.equal(await api.deleteManagementPolicy(DEV_ACCOUNT), true);
  assert.equal(await api.deleteManagementPolicy(DEV_ACCOUNT), false);
  assert.equal(await api.getManagementPolicy(DEV_ACCOUNT), undefined);
});

test('base blobs: Cool after 30 days, Archive after 90, deleted after 365, only under the prefix; cheapest action wins', async (t) => {
  // Goal: run conditions on the injected clock, prefix filters (name prefix vs directory), the schedule
  // (once per day), tier changes that are explicit, and the report.
  const srv = await setup(t);
  const api = srv.nimbus.api;
  const logs = srv.serviceClient.getContainerClient('logs');
  const data = srv.serviceClient.getContainerClient('data');
  await logs.create();
  await data.create();
  for (const [container, name] of [[logs, 'app/1.log'], [logs, 'other/1.log'], [data, 'app/1.log']] as const) {
    await container.getBlockBlobClient(name).upload('x', 1);
  }
  await api.setManagementPolicy(DEV_ACCOUNT, policyOf(rule('age-logs', {
    filters: { ...blockBlobs, prefixMatch: ['logs/app/'] },
    actions: { baseBlob: {
      tierToCool: { daysAfterModificationGreaterThan: 30 },
      tierToArchive: { daysAfterModificationGreaterThan: 90 },
      delete: { daysAfterModificationGreaterThan: 365 },
    } },
  })), srv.clock.nowMs());
  const tierOf = async (c: typeof logs, name: string) => (await c.getBlockBlobClient(name).getProperties()).accessTier;

  await advance(srv, 31);
  const cooled = await logs.getBlockBlobClient('app/1.log').getProperties();
  assert.equal(cooled.accessTier, 'Cool');
  assert.equal(cooled.accessTierInferred, undefined);                       // set by the policy: explicit
  assert.equal(await tierOf(logs, 'other/1.log'), 'Hot');
  assert.equal(await tierOf(data, 'app/1.log'), 'Hot');
  const first = await api.lastLifecycleRun(DEV_ACCOUNT);
  assert.deepEqual(first?.counts, { tierToCool: 1, tierToCold: 0, tierToArchive: 0, delete: 0, failed: 0 });
  assert.deepEqual(first?.actions, [{ container: 'logs', blob: 'app/1.log', target: 'base', action: 'tierToCool', rule: 'age-logs', outcome: 'done' }]);
  assert.equal(first?.containersScanned, 1);                                // 'data' is outside every prefix

  // Same day: not due again.
  srv.clock.advance(seconds(60));
  assert.deepEqual(await api.runLifecycleDue(srv.clock.nowMs()), []);

  // Day 400 at once: tierToArchive and delete both match; delete is cheaper and is the one applied.
  await advance(srv, 400 - 31);
  await assert.rejects(logs.getBlockBlobClient('app/1.log').getProperties(), { statusCode: 404 });
  assert.equal((await api.lastLifecycleRun(DEV_ACCOUNT))?.counts.delete, 1);
  assert.equal((await api.lastLifecycleRun(DEV_ACCOUNT))?.counts.tierToArchive, 0);

  // A fresh blob walks the tiers one run at a time.
  await logs.getBlockBlobClient('app/2.log').upload('y', 1);
  await advance(srv, 31);
  assert.equal(await tierOf(logs, 'app/2.log'), 'Cool');
  await advance(srv, 60);
  assert.equal(await tierOf(logs, 'app/2.log'), 'Archive');
  // Archive is never left by the policy (no rehydration) and Cool never follows it.
  await advance(srv, 10);
  assert.equal(await tierOf(logs, 'app/2.log'), 'Archive');
});

test('versions and snapshots age by creation; with soft delete they stay restorable; the current version waits for its history', async (t) => {
  // Goal: version/snapshot actions, the "current version is not deleted while previous versions or
  // snapshots remain" rule, and deletes going through the versioning and soft-delete rules.
  const srv = await setup(t);
  await enableVersioning(srv);
  await enableSoftDelete(srv, 7);
  const api = srv.nimbus.api;
  const container = srv.serviceClient.getContainerClient('history');
  await container.create();
  const blob = container.getBlockBlobClient('doc.txt');
  const { versionId: v1 } = await blob.upload('one', 3);
  await api.setManagementPolicy(DEV_ACCOUNT, policyOf(rule('base-only', {
    filters: blockBlobs, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 20 } } },
  })), srv.clock.nowMs());
  await advance(srv, 5);
  const { versionId: v2 } = await blob.upload('two', 3);                  // v1 becomes a previous version
  const { snapshot } = await blob.createSnapshot();
  assert.ok(v1 && v2 && snapshot);

  // Day 30: the current version is old enough, but it has a previous version and a snapshot.
  await advance(srv, 25);
  assert.equal((await blob.getProperties()).versionId !== undefined, true);
  assert.equal((await api.lastLifecycleRun(DEV_ACCOUNT))?.counts.delete, 0);

  // Add version and snapshot rules: history goes first (soft-deleted), then the current version,
  // which versioning keeps as a previous version.
  await api.setManagementPolicy(DEV_ACCOUNT, policyOf(rule('everything', {
    filters: blockBlobs,
    actions: {
      baseBlob: { delete: { daysAfterModificationGreaterThan: 20 } },
      version: { delete: { daysAfterCreationGreaterThan: 10 } },
      snapshot: { delete: { daysAfterCreationGreaterThan: 10 } },
    },
  })), srv.clock.nowMs());
  // Snapshot Blob with versioning also kept v2 as a version and gave the current blob a new id (v3).
  const v3 = (await blob.getProperties()).versionId;
  const report = await api.runLifecycleNow(DEV_ACCOUNT, srv.clock.nowMs());
  assert.deepEqual(report?.counts, { tierToCool: 0, tierToCold: 0, tierToArchive: 0, delete: 4, failed: 0 });
  assert.deepEqual(report?.actions.map((a) => [a.target, a.id]), [['snapshot', snapshot], ['version', v1], ['version', v2], ['base', undefined]]);
  await assert.rejects(blob.getProperties(), { statusCode: 404 });
  assert.deepEqual((await listRows(container)).map((r) => [r.kind, r.id, r.deleted ?? false]), [
    ['snapshot', snapshot, true],
    ['version', v1, true],
    ['version', v2, true],
    ['version', v3, false],                                               // the deleted current version
  ]);

  // Soft delete still protects what the policy deleted.
  await blob.undelete();
  assert.equal((await listRows(container)).some((r) => r.deleted), false);
});

test('tier actions apply to previous versions; leased blobs are reported, not fatal; a disabled policy never runs', async (t) => {
  const srv = await setup(t);
  await enableVersioning(srv);
  const api = srv.nimbus.api;
  const container = srv.serviceClient.getContainerClient('mixed');
  await container.create();
  const versioned = container.getBlockBlobClient('versioned.txt');
  const { versionId: old } = await versioned.upload('old', 3);
  srv.clock.advance(days(1));
  await versioned.upload('new', 3);
  const leased = container.getBlockBlobClient('leased.txt');
  await leased.upload('held', 4);
  await leased.getBlobLeaseClient().acquireLease(-1);
  assert.ok(old);
  await api.setManagementPolicy(DEV_ACCOUNT, policyOf(
    rule('versions-cold', { filters: blockBlobs, actions: { version: { tierToCold: { daysAfterCreationGreaterThan: 10 } } } }),
    rule('delete-old', { filters: { ...blockBlobs, prefixMatch: ['mixed/leased'] }, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 10 } } } }),
  ), srv.clock.nowMs());
  await advance(srv, 11);
  assert.equal((await versioned.withVersion(old).getProperties()).accessTier, 'Cold');
  assert.equal((await versioned.getProperties()).accessTier, 'Hot');
  const report = await api.lastLifecycleRun(DEV_ACCOUNT);
  assert.equal(report?.counts.tierToCold, 1);
  assert.equal(report?.counts.failed, 1);
  assert.deepEqual(report?.actions.find((a) => a.outcome === 'failed'), {
    container: 'mixed', blob: 'leased.txt', target: 'base', action: 'delete', rule: 'delete-old', outcome: 'failed', error: 'LeaseIdMissing',
  });
  assert.ok((await leased.getProperties()).leaseState === 'leased');

  // Every rule disabled: the policy is inactive.
  await api.setManagementPolicy(DEV_ACCOUNT, policyOf(
    rule('off', { filters: blockBlobs, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 0 } } } }, { enabled: false }),
  ), srv.clock.nowMs());
  assert.equal(await api.runLifecycleNow(DEV_ACCOUNT, srv.clock.nowMs()), undefined);
  await advance(srv, 2);
  assert.equal((await versioned.getProperties()).accessTier, 'Hot');
});
