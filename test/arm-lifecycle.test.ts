// Lifecycle management over ARM (src/arm/resources/management-policies.ts).
// Goal: `@azure/arm-storage`'s managementPolicies.createOrUpdate/get/delete work against Nimbus unchanged,
// invalid policies come back as ARM 400s carrying the blob service's code and JSON-path target, and the
// Nimbus-specific "run now" call applies the policy at once, visibly on the blob endpoint.
// Method: a real Nimbus per test with a manual clock; SDK calls first, raw HTTPS (bearer token from the
// same ClientSecretCredential) only for the run/lastRun calls the SDK does not know.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagementPolicy } from '@azure/arm-storage';
import { startTestServer, type TestServer } from './helpers/server.js';
import { armClients, armRequest, MANAGEMENT_SCOPE, type ArmClients } from './helpers/arm.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID } from '../src/accounts/model.js';
import { DEV_ACCOUNT } from '../src/blob/service/accounts.js';
import { days } from '../src/platform/clock.js';

const RG = DEFAULT_RESOURCE_GROUP;
const POLICY_PATH = `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/${DEV_ACCOUNT}/managementPolicies/default`;
const API = 'api-version=2023-05-01';

async function setup(t: TestContext): Promise<TestServer & ArmClients> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  return { ...srv, ...armClients(srv) };
}

const AGE_LOGS: ManagementPolicy = {
  policy: {
    rules: [{
      name: 'age-logs',
      type: 'Lifecycle',
      definition: {
        filters: { blobTypes: ['blockBlob'], prefixMatch: ['logs/app/'] },
        actions: {
          baseBlob: { tierToCool: { daysAfterModificationGreaterThan: 30 }, delete: { daysAfterModificationGreaterThan: 365 } },
          snapshot: { delete: { daysAfterCreationGreaterThan: 90 } },
          version: { tierToArchive: { daysAfterCreationGreaterThan: 60 } },
        },
      },
    }],
  },
};

/** Drops the `undefined` members the SDK's deserializer adds for every property it knows. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

test('managementPolicies/default round-trips through @azure/arm-storage; invalid policies are ARM 400s with the offending path', async (t) => {
  const srv = await setup(t);
  const { storage, clock, nimbus } = srv;

  // 1. No policy yet: Azure's 404 ManagementPolicyNotFound.
  await expectAzureError(storage.managementPolicies.get(RG, DEV_ACCOUNT, 'default'), 404, 'ManagementPolicyNotFound');

  // 2. PUT then GET: Azure's resource shape, the rules as sent (enabled defaults to true), the clock's time.
  const created = await storage.managementPolicies.createOrUpdate(RG, DEV_ACCOUNT, 'default', AGE_LOGS);
  assert.equal(created.id, POLICY_PATH);
  assert.equal(created.name, 'DefaultManagementPolicy');
  assert.equal(created.type, 'Microsoft.Storage/storageAccounts/managementPolicies');
  assert.equal(created.lastModifiedTime?.getTime(), clock.nowMs());
  const expectedRules = AGE_LOGS.policy?.rules.map((r) => ({ ...r, enabled: true }));
  assert.deepEqual(plain(created.policy?.rules), expectedRules);
  const fetched = await storage.managementPolicies.get(RG, DEV_ACCOUNT, 'default');
  assert.deepEqual(plain(fetched.policy?.rules), expectedRules);
  assert.deepEqual(fetched.lastModifiedTime, created.lastModifiedTime);
  assert.equal((await nimbus.api.getManagementPolicy(DEV_ACCOUNT))?.policy.rules[0]?.name, 'age-logs'); // the service's own setting

  // 3. Refusals carry the service's code and the JSON path of the offending value, and change nothing.
  const noBlobTypes: ManagementPolicy = { policy: { rules: [{ name: 'r', type: 'Lifecycle', definition: { filters: { blobTypes: [] }, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 1 } } } } }] } };
  const missing = structuredClone(noBlobTypes) as { policy: { rules: Array<{ definition: { filters?: unknown } }> } };
  delete missing.policy.rules[0]?.definition.filters;
  const refusals: Array<[string, ManagementPolicy, string, string]> = [
    ['no filters', missing as ManagementPolicy, 'MissingRequiredParameter', 'properties.policy.rules[0].definition.filters'],
    ['negative days', { policy: { rules: [{ name: 'r', type: 'Lifecycle', definition: { filters: { blobTypes: ['blockBlob'] }, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: -1 } } } } }] } },
      'InvalidValuesForRequestParameters', 'properties.policy.rules[0].definition.actions.baseBlob.delete.daysAfterModificationGreaterThan'],
    ['page blobs', { policy: { rules: [{ name: 'r', type: 'Lifecycle', definition: { filters: { blobTypes: ['pageBlob'] }, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 1 } } } } }] } },
      'InvalidValuesForRequestParameters', 'properties.policy.rules[0].definition.filters.blobTypes[0]'],
  ];
  for (const [label, body, code, target] of refusals) {
    await expectAzureError(storage.managementPolicies.createOrUpdate(RG, DEV_ACCOUNT, 'default', body), 400, code);
    // The SDK keeps only code and message of an ARM error; the body's `target` is read raw.
    const raw = await armRequest(srv, 'PUT', `${POLICY_PATH}?${API}`, { token: nimbus.armDevToken, body: { properties: body } });
    assert.deepEqual([raw.status, raw.body.error?.code, (raw.body.error as { target?: string } | undefined)?.target], [400, code, target], label);
  }
  const noPolicy = await armRequest(srv, 'PUT', `${POLICY_PATH}?${API}`, { token: nimbus.armDevToken, body: { properties: {} } });
  assert.equal(noPolicy.status, 400);
  assert.equal(noPolicy.body.error?.code, 'MissingRequiredParameter');
  assert.deepEqual(plain((await storage.managementPolicies.get(RG, DEV_ACCOUNT, 'default')).policy?.rules), expectedRules);

  // 4. Request rules shared with every ARM resource: api-version required; only the name `default` exists;
  // unknown accounts are ResourceNotFound.
  const noVersion = await armRequest(srv, 'GET', POLICY_PATH, { token: nimbus.armDevToken });
  assert.equal(noVersion.status, 400);
  assert.equal(noVersion.body.error?.code, 'MissingApiVersionParameter');
  assert.equal((await armRequest(srv, 'GET', `${POLICY_PATH.replace(/default$/, 'other')}?${API}`, { token: nimbus.armDevToken })).status, 404);
  await expectAzureError(storage.managementPolicies.get(RG, 'nosuchacct1', 'default'), 404, 'ResourceNotFound');

  // 5. Delete: gone for the SDK and the service; deleting again succeeds (204), as Azure does.
  await storage.managementPolicies.delete(RG, DEV_ACCOUNT, 'default');
  await expectAzureError(storage.managementPolicies.get(RG, DEV_ACCOUNT, 'default'), 404, 'ManagementPolicyNotFound');
  assert.equal(await nimbus.api.getManagementPolicy(DEV_ACCOUNT), undefined);
  const again = await armRequest(srv, 'DELETE', `${POLICY_PATH}?${API}`, { token: nimbus.armDevToken });
  assert.equal(again.status, 204);
  await storage.managementPolicies.delete(RG, DEV_ACCOUNT, 'default');
});

test('run now applies the policy at once on the manual clock; lastRun reports it; the blob endpoint sees the new tier', async (t) => {
  const srv = await setup(t);
  const { clock, serviceClient } = srv;
  // Tokens expire on the server's (manual) clock while the credential's cache goes by real time, so
  // after moving the clock a fresh credential gets a fresh token.
  const tokenNow = async () => (await armClients(srv).tokenCredential.getToken(MANAGEMENT_SCOPE)).token;
  let token = await tokenNow();
  const run = () => armRequest(srv, 'POST', `${POLICY_PATH}/run?${API}`, { token });
  const logs = serviceClient.getContainerClient('logs');
  await logs.create();
  await logs.getBlockBlobClient('app/1.log').upload('one', 3);
  await logs.getBlockBlobClient('web/1.log').upload('two', 3);

  // 1. No policy: nothing to run.
  const none = await run();
  assert.equal(none.status, 404);
  assert.equal(none.body.error?.code, 'ManagementPolicyNotFound');

  // 2. A policy, run at day 0: scans, does nothing.
  await srv.storage.managementPolicies.createOrUpdate(RG, DEV_ACCOUNT, 'default', AGE_LOGS);
  const early = await run();
  assert.equal(early.status, 200);
  assert.equal(early.body.ran, true);
  const earlyReport = early.body.report as { objectsScanned: number; counts: Record<string, number> };
  assert.equal(earlyReport.objectsScanned, 2);                   // both blobs of the container in scope are looked at
  assert.deepEqual(earlyReport.counts, { tierToCool: 0, tierToCold: 0, tierToArchive: 0, delete: 0, failed: 0 });

  // 3. Day 31, clock moved but no scheduler step: still Hot. Run now: Cool, set explicitly.
  clock.advance(days(31));
  token = await tokenNow();
  assert.equal((await logs.getBlockBlobClient('app/1.log').getProperties()).accessTier, 'Hot');
  const cooled = await run();
  assert.equal(cooled.status, 200);
  assert.deepEqual(cooled.body, {
    ran: true,
    report: {
      account: DEV_ACCOUNT, startedMs: clock.nowMs(), policyLastModifiedMs: clock.nowMs() - days(31),
      containersScanned: 1, objectsScanned: 2,
      counts: { tierToCool: 1, tierToCold: 0, tierToArchive: 0, delete: 0, failed: 0 },
      actions: [{ container: 'logs', blob: 'app/1.log', target: 'base', action: 'tierToCool', rule: 'age-logs', outcome: 'done' }],
      actionsTruncated: false,
    },
  });
  const properties = await logs.getBlockBlobClient('app/1.log').getProperties();
  assert.equal(properties.accessTier, 'Cool');
  assert.equal(properties.accessTierInferred, undefined);
  assert.equal((await logs.getBlockBlobClient('web/1.log').getProperties()).accessTier, 'Hot');

  // 4. lastRun is that report.
  const last = await armRequest(srv, 'GET', `${POLICY_PATH}/lastRun?${API}`, { token });
  assert.equal(last.status, 200);
  assert.deepEqual(last.body, { report: cooled.body.report });

  // 5. A policy whose only rule is disabled runs nothing; the call says so.
  const disabled = structuredClone(AGE_LOGS);
  const first = disabled.policy?.rules[0];
  assert.ok(first);
  first.enabled = false;
  await armClients(srv).storage.managementPolicies.createOrUpdate(RG, DEV_ACCOUNT, 'default', disabled);
  const idle = await run();
  assert.equal(idle.status, 200);
  assert.deepEqual(idle.body, { ran: false, reason: 'The policy has no enabled rule.' });

  // 6. Run now is an ARM call like any other: a bearer token and an api-version are required.
  const anonymous = await armRequest(srv, 'POST', `${POLICY_PATH}/run?${API}`);
  assert.equal(anonymous.status, 401);
  const unversioned = await armRequest(srv, 'POST', `${POLICY_PATH}/run`, { token });
  assert.equal(unversioned.body.error?.code, 'MissingApiVersionParameter');
});
