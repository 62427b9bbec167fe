// `nimbus maintenance start | status | cancel` (src/cli/maintenance.ts) against a running server.
// Goal: the CLI drives campaigns through the operator API (found from the data dir like every other
// command), shows progress per update domain and per VM, reports refusals with the server's code
// (exit 1) and usage mistakes with exit 2.
// Method: an in-process test server with process-backed VMs made through the compute service; the CLI
// runs as a child process (asynchronously, so the server keeps serving); the manual clock drives the
// campaign between CLI calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startTestServer } from './helpers/server.js';
import { DEFAULT_SUBSCRIPTION_ID } from '../src/accounts/model.js';
import { seconds } from '../src/platform/clock.js';

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));

function nimbus(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: PROJECT_ROOT, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

test('nimbus maintenance start/status/cancel drive campaigns through the operator API', { timeout: 40_000 }, async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const dataDir = ['--data-dir', srv.dataDir];
  const service = srv.nimbus.compute.service;
  const ref = { subscriptionId: DEFAULT_SUBSCRIPTION_ID, resourceGroup: 'cli-rg' };
  await service.createAvailabilitySet({ ...ref, name: 'cli-set', location: 'westus', platformUpdateDomainCount: 2 });
  for (const name of ['cli-0', 'cli-1']) await service.createVm({ ...ref, name, location: 'westus', vmSize: 'Standard_B1ls', availabilitySet: 'cli-set' });

  // 1. Usage mistakes: exit 2, one line saying what is wrong.
  const noKind = await nimbus(['maintenance', 'start', ...dataDir]);
  assert.equal(noKind.code, 2);
  assert.match(noKind.stderr, /--kind must be memory-preserving or reboot/);
  assert.equal((await nimbus(['maintenance', 'cancel', ...dataDir])).code, 2);
  assert.equal((await nimbus(['maintenance', 'start', '--kind', 'reboot', '--notice-seconds', 'soon', ...dataDir])).code, 2);

  // 2. start: the campaign is shown with UD0 announced; a second start is refused by the server.
  const start = await nimbus(['maintenance', 'start', '--kind', 'memory-preserving', '--notice-seconds', '900', ...dataDir]);
  assert.equal(start.code, 0, start.stderr);
  const id = /^campaign\s+(\S+)$/m.exec(start.stdout)?.[1];
  assert.ok(id, start.stdout);
  assert.match(start.stdout, /^state\s+running$/m);
  assert.match(start.stdout, /^notice\s+900 s$/m);
  assert.match(start.stdout, /^cli-set\s+UD0\s+scheduled\s+-\s+\S+\s+cli-0$/m);
  assert.match(start.stdout, /^cli-set\s+UD1\s+pending\s+/m);
  const refused = await nimbus(['maintenance', 'start', '--kind', 'reboot', ...dataDir]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /MaintenanceInProgress/);

  // 3. status: the list, and one campaign as JSON.
  const list = await nimbus(['maintenance', 'status', ...dataDir]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ID\s+KIND\s+STATE\s+CREATED\s+UPDATED\/VMS$/m);
  assert.match(list.stdout, new RegExp(`^${id}\\s+memory-preserving\\s+running\\s+\\S+\\s+0/0$`, 'm'));
  const json = await nimbus(['maintenance', 'status', id, '--json', ...dataDir]);
  assert.equal(json.code, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as { properties: { state: string } }).properties.state, 'running');

  // 4. cancel: the announced domain's event is withdrawn, nothing is updated.
  const cancel = await nimbus(['maintenance', 'cancel', id, ...dataDir]);
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.match(cancel.stdout, /^state\s+cancelled$/m);
  assert.match(cancel.stdout, /^cli-set\s+UD0\s+cancelled\s+/m);

  // 5. A campaign on one host with no notice, run to completion by the clock: status shows per-VM results.
  const host = service.getVm({ ...ref, name: 'cli-0' }).host ?? '';
  const second = await nimbus(['maintenance', 'start', '--kind', 'memory-preserving', '--hosts', host, '--notice-seconds', '0', ...dataDir]);
  assert.equal(second.code, 0, second.stderr);
  const secondId = /^campaign\s+(\S+)$/m.exec(second.stdout)?.[1] ?? '';
  for (let i = 0; i < 5 && srv.nimbus.compute.maintenance.campaign(secondId).state === 'running'; i++) {
    srv.clock.advance(seconds(1));
    await srv.runDue();
  }
  const status = await nimbus(['maintenance', 'status', secondId, ...dataDir]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^state\s+completed$/m);
  assert.match(status.stdout, new RegExp(`^hosts\\s+${host}$`, 'm'));
  assert.match(status.stdout, new RegExp(`^cli-0\\s+${host}\\s+UD0\\s+updated\\s+[\\d.]+ ms process-freeze\\s+not-applicable.*preserved \\(process-resident\\)$`, 'm'));
  assert.equal((await nimbus(['maintenance', 'status', 'no-such-id', ...dataDir])).code, 1);
});
