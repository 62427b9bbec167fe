// The `nimbus account` command (src/cli/account.ts, src/cli/arm-client.ts) against a running server.
// Goal: the CLI finds the server from its data dir (server.json: ARM URL, CA, dev token) or from
// --arm-port + --ca (then it gets a token for the development principal), flips the same switches the
// SDKs see, and explains mistakes with a clear line and exit code (2 usage, 1 refused/failed).
// Method: an in-process test server; the CLI runs as a child process (node --import tsx src/cli/main.ts),
// asynchronously so the server keeps serving while the child waits for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer } from './helpers/server.js';
import { armClients } from './helpers/arm.js';
import { DEV_ACCOUNT } from '../src/blob/service/accounts.js';

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function nimbus(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      });
  });
}

test('nimbus account set/show/list flip the switches the SDKs and the data plane see', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const dataDir = ['--data-dir', srv.dataDir];
  const { storage, resources } = armClients(srv);
  await resources.resourceGroups.createOrUpdate('cli-rg', { location: 'westus' });
  await storage.storageAccounts.create('cli-rg', 'cliacct1', { location: 'westus', sku: { name: 'Standard_LRS' }, kind: 'StorageV2' });

  // 1. list: the built-in account and the one made through ARM.
  const list = await nimbus(['account', 'list', ...dataDir]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^NAME\s+RESOURCE GROUP\s+LOCATION\s+BLOB ENDPOINT$/m);
  assert.match(list.stdout, new RegExp(`^${DEV_ACCOUNT}\\s+nimbus\\s+local\\s+http://127\\.0\\.0\\.1:${srv.nimbus.blobPort}/${DEV_ACCOUNT}/$`, 'm'));
  assert.match(list.stdout, /^cliacct1\s+cli-rg\s+westus\s+/m);

  // 2. set on the default account: versioning and both retention policies, seen by the blob service and the data plane.
  const set = await nimbus(['account', 'set', '--versioning', 'on', '--soft-delete-days', '7', '--container-soft-delete-days', '3', ...dataDir]);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /^versioning\s+on$/m);
  assert.match(set.stdout, /^blob soft delete\s+on, 7 days$/m);
  assert.match(set.stdout, /^container soft delete\s+on, 3 days$/m);
  assert.deepEqual(await srv.nimbus.api.getDataProtection(DEV_ACCOUNT), {
    versioning: true,
    deleteRetention: { enabled: true, days: 7, allowPermanentDelete: false },
    containerDeleteRetention: { enabled: true, days: 3 },
  });
  assert.equal((await srv.serviceClient.getProperties()).deleteRetentionPolicy?.days, 7);

  // 3. Flip back one switch at a time; show --json reads the result.
  assert.equal((await nimbus(['account', 'set', '--versioning', 'off', '--soft-delete-days', 'off', ...dataDir])).code, 0);
  const shown = await nimbus(['account', 'show', '--json', ...dataDir]);
  assert.equal(shown.code, 0, shown.stderr);
  const view = JSON.parse(shown.stdout) as { account: string; isVersioningEnabled: boolean; deleteRetentionPolicy: { enabled: boolean }; containerDeleteRetentionPolicy: { days: number } };
  assert.equal(view.account, DEV_ACCOUNT);
  assert.equal(view.isVersioningEnabled, false);
  assert.equal(view.deleteRetentionPolicy.enabled, false);
  assert.equal(view.containerDeleteRetentionPolicy.days, 3);

  // 4. Another account, found through --arm-port and --ca only (token from the development principal).
  const emptyDir = mkdtempSync(join(tmpdir(), 'nimbus-cli-'));
  t.after(() => rmSync(emptyDir, { recursive: true, force: true }));
  const byPort = await nimbus(['account', 'set', '--account', 'cliacct1', '--versioning', 'on', '--data-dir', emptyDir,
    '--arm-port', String(srv.nimbus.armPort), '--ca', srv.nimbus.armCaPath]);
  assert.equal(byPort.code, 0, byPort.stderr);
  assert.equal((await storage.blobServices.getServiceProperties('cli-rg', 'cliacct1')).isVersioningEnabled, true);
  assert.equal((await srv.nimbus.api.getDataProtection(DEV_ACCOUNT)).versioning, false);
});

test('nimbus account explains mistakes: bad flags exit 2, unknown accounts and refusals exit 1', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const dataDir = ['--data-dir', srv.dataDir];

  const badDays = await nimbus(['account', 'set', '--soft-delete-days', '400', ...dataDir]);
  assert.equal(badDays.code, 2);
  assert.match(badDays.stderr, /--soft-delete-days: expected a number of days from 1 to 365, or off; got '400'/);
  const nothing = await nimbus(['account', 'set', ...dataDir]);
  assert.equal(nothing.code, 2);
  assert.match(nothing.stderr, /nothing to change/);

  const unknown = await nimbus(['account', 'show', '--account', 'nosuch1', ...dataDir]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no storage account named 'nosuch1'/);

  const refused = await nimbus(['account', 'show', ...dataDir], { NIMBUS_ARM_TOKEN: 'not-a-token' });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /the server refused: InvalidAuthenticationToken/);

  const emptyDir = mkdtempSync(join(tmpdir(), 'nimbus-cli-'));
  t.after(() => rmSync(emptyDir, { recursive: true, force: true }));
  const noServer = await nimbus(['account', 'show', '--data-dir', emptyDir]);
  assert.equal(noServer.code, 1);
  assert.match(noServer.stderr, /no running Nimbus found/);
});
