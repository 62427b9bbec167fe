// `nimbus usage` and `nimbus lifecycle` (src/cli/usage.ts, src/cli/lifecycle.ts) against a running server,
// and the ARM usage endpoint they read (src/arm/resources/usage.ts).
// Goal: `nimbus usage --json` is exactly the service's UsageReport (scripts can rely on it), the table
// shows the same numbers, and `nimbus lifecycle run|show` run and show the policy set through the SDK.
// Method: an in-process test server with a manual clock; the CLI runs as a child process
// (node --import tsx src/cli/main.ts), asynchronously so the server keeps serving while the child waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startTestServer } from './helpers/server.js';
import { armClients, armRequest } from './helpers/arm.js';
import { enableVersioning } from './helpers/history.js';
import { DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID } from '../src/accounts/model.js';
import { DEV_ACCOUNT } from '../src/blob/service/accounts.js';
import { days } from '../src/platform/clock.js';

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const ACCOUNT_PATH = `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/${DEFAULT_RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts/${DEV_ACCOUNT}`;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function nimbus(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: PROJECT_ROOT, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** What a report looks like after a trip through JSON (absent optional fields dropped). */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

test('nimbus usage --json is the service\'s report; the table shows the same numbers; the ARM endpoint takes container and detail', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const dataDir = ['--data-dir', srv.dataDir];
  const api = srv.nimbus.api;
  await enableVersioning(srv);
  const photos = srv.serviceClient.getContainerClient('photos');
  const docs = srv.serviceClient.getContainerClient('docs');
  await photos.create();
  await docs.create();
  const cat = photos.getBlockBlobClient('cat.jpg');
  await cat.upload('meow meow', 9);
  await cat.upload('purr', 4);                                   // a previous version of 9 bytes
  await cat.createSnapshot();
  const memo = docs.getBlockBlobClient('memo.txt');
  await memo.upload('x'.repeat(1000), 1000);
  await memo.setAccessTier('Cool');                              // explicit tier: billed in Cool

  // 1. --json: the service's report at the same instant (the clock does not move), unchanged.
  const json = await nimbus(['usage', '--json', ...dataDir]);
  assert.equal(json.code, 0, json.stderr);
  const expected = await api.usageReport(DEV_ACCOUNT, srv.clock.nowMs());
  assert.deepEqual(JSON.parse(json.stdout), plain(expected));
  assert.ok(expected.billable.Cool >= 1000 && expected.billable.Hot > 0, 'both tiers are billed');
  const onlyDocs = await nimbus(['usage', '--container', 'docs', '--json', ...dataDir]);
  assert.deepEqual(JSON.parse(onlyDocs.stdout), plain(await api.usageReport(DEV_ACCOUNT, srv.clock.nowMs(), { container: 'docs' })));

  // 2. The table: one row per container with the report's numbers, and a total.
  const table = await nimbus(['usage', ...dataDir]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`^account ${DEV_ACCOUNT}, usage at ${new Date(expected.atMs).toISOString().replace(/\./g, '\\.')}`, 'm'));
  assert.match(table.stdout, /^CONTAINER\s+HOT\s+COOL\s+COLD\s+ARCHIVE\s+BILLABLE\s+PHYSICAL\s+BLOBS\s+VERSIONS\s+SNAPSHOTS\s+SOFT-DELETED$/m);
  for (const c of expected.containers) {
    const cells = [c.container, c.billable.Hot, c.billable.Cool, c.billable.Cold, c.billable.Archive, c.billableBytes, c.physicalBytes,
      c.counts.blobs, c.counts.versions, c.counts.snapshots, c.counts.softDeleted];
    assert.match(table.stdout, new RegExp(`^${cells.join('\\s+')}$`, 'm'), c.container);
  }
  const count = (pick: (c: (typeof expected.containers)[number]) => number) => expected.containers.reduce((n, c) => n + pick(c), 0);
  const totals = [expected.billable.Hot, expected.billable.Cool, expected.billable.Cold, expected.billable.Archive, expected.billableBytes, expected.physicalBytes,
    count((c) => c.counts.blobs), count((c) => c.counts.versions), count((c) => c.counts.snapshots), count((c) => c.counts.softDeleted)];
  assert.match(table.stdout, new RegExp(`^TOTAL\\s+${totals.join('\\s+')}$`, 'm'));
  assert.equal(count((c) => c.counts.blobs), 2);
  const nothing = await nimbus(['usage', '--container', 'nosuch', ...dataDir]);
  assert.equal(nothing.code, 0, nothing.stderr);
  assert.match(nothing.stdout, /^no container named 'nosuch'$/m);

  // 3. The ARM endpoint directly: detail=true adds per-blob lines; a bad detail value is a 400.
  const token = srv.nimbus.armDevToken;
  const detailed = await armRequest(srv, 'GET', `${ACCOUNT_PATH}/usage?api-version=2023-05-01&container=photos&detail=true`, { token });
  assert.equal(detailed.status, 200);
  assert.deepEqual(detailed.body, plain(await api.usageReport(DEV_ACCOUNT, srv.clock.nowMs(), { container: 'photos', detail: true })));
  assert.equal((detailed.body as unknown as typeof expected).containers[0]?.blobs?.[0]?.blob, 'cat.jpg');
  const bad = await armRequest(srv, 'GET', `${ACCOUNT_PATH}/usage?api-version=2023-05-01&detail=yes`, { token });
  assert.deepEqual([bad.status, bad.body.error?.code], [400, 'InvalidParameter']);
  assert.equal((await armRequest(srv, 'GET', `${ACCOUNT_PATH}/usage?api-version=2023-05-01`)).status, 401);
});

test('nimbus lifecycle show and run: the policy set through the SDK, run now on the moved clock, what it did', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const dataDir = ['--data-dir', srv.dataDir];
  const logs = srv.serviceClient.getContainerClient('logs');
  await logs.create();
  await logs.getBlockBlobClient('app/1.log').upload('one', 3);

  // 1. No policy: show says so; run is refused by the server (exit 1, the ARM code in the line).
  const empty = await nimbus(['lifecycle', 'show', ...dataDir]);
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stdout, /^policy\s+none/m);
  assert.match(empty.stdout, /^last run\s+never$/m);
  const refused = await nimbus(['lifecycle', 'run', ...dataDir]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /the server refused: ManagementPolicyNotFound/);

  // 2. A policy through the SDK; show lists its rule and actions.
  await armClients(srv).storage.managementPolicies.createOrUpdate(DEFAULT_RESOURCE_GROUP, DEV_ACCOUNT, 'default', {
    policy: { rules: [{ name: 'age-logs', type: 'Lifecycle', definition: {
      filters: { blobTypes: ['blockBlob'], prefixMatch: ['logs/app/'] },
      actions: { baseBlob: { tierToCool: { daysAfterModificationGreaterThan: 30 } } },
    } }] },
  });
  const shown = await nimbus(['lifecycle', 'show', ...dataDir]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^policy\s+1 rule, last modified /m);
  assert.match(shown.stdout, /^ {2}rule age-logs \(enabled\): blockBlob, prefixes logs\/app\/$/m);
  assert.match(shown.stdout, /^ {4}baseBlob\.tierToCool when daysAfterModificationGreaterThan 30$/m);

  // 3. Day 31 on the server's clock, no scheduler step: `lifecycle run` cools the blob and says so.
  srv.clock.advance(days(31));
  const run = await nimbus(['lifecycle', 'run', ...dataDir]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`^ran\\s+${new Date(srv.clock.nowMs()).toISOString().replace(/\./g, '\\.')}: scanned 1 container\\(s\\), 1 object\\(s\\)$`, 'm'));
  assert.match(run.stdout, /^actions\s+tierToCool 1, tierToCold 0, tierToArchive 0, delete 0, failed 0$/m);
  assert.match(run.stdout, /^ACTION\s+RULE\s+CONTAINER\s+BLOB\s+TARGET\s+OUTCOME$/m);
  assert.match(run.stdout, /^tierToCool\s+age-logs\s+logs\s+app\/1\.log\s+base\s+done$/m);
  assert.equal((await logs.getBlockBlobClient('app/1.log').getProperties()).accessTier, 'Cool');

  // 4. show --json: the policy and the last run, as the service keeps them.
  const json = await nimbus(['lifecycle', 'show', '--json', ...dataDir]);
  assert.equal(json.code, 0, json.stderr);
  const view = JSON.parse(json.stdout) as { account: string; policy: { policy: { rules: unknown[] } }; lastRun: unknown };
  assert.equal(view.account, DEV_ACCOUNT);
  assert.equal(view.policy.policy.rules.length, 1);
  assert.deepEqual(view.lastRun, plain(await srv.nimbus.api.lastLifecycleRun(DEV_ACCOUNT)));

  // 5. Mistakes: an unknown sub-command exits 2, an unknown account exits 1.
  const unknown = await nimbus(['lifecycle', 'purge', ...dataDir]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown lifecycle command 'purge'/);
  const noAccount = await nimbus(['lifecycle', 'run', '--account', 'nosuch1', ...dataDir]);
  assert.equal(noAccount.code, 1);
  assert.match(noAccount.stderr, /no storage account named 'nosuch1'/);
});
