// `nimbus maintenance start | status | cancel`: host-update campaigns through the operator API
// (src/arm/resources/maintenance.ts) of a running Nimbus, found and authenticated as arm-client.ts says.
//
//   nimbus maintenance start --kind memory-preserving|reboot [--hosts a,b] [--notice-seconds N] [--json]
//   nimbus maintenance status [ID] [--json]       no ID: every campaign, newest last; ID: one in detail
//   nimbus maintenance cancel ID [--json]
//
// The campaign itself runs in the server (stepped by its timer); the CLI only starts, reads and
// cancels it. `status ID` shows each availability set's update domains in walk order, then per VM
// what happened: the pause (a process freeze is labelled as such, never as a VM blackout), the
// guest clock error before and after the resync, and whether memory was preserved.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { DEFAULT_SUBSCRIPTION_ID } from '../accounts/model.js';
import { CliError, connectArm } from './arm-client.js';

export const MAINTENANCE_USAGE = `usage: nimbus maintenance start --kind memory-preserving|reboot [--hosts NAME,NAME] [--notice-seconds N] [--json] [connection]
       nimbus maintenance status [ID] [--json] [connection]
       nimbus maintenance cancel ID [--json] [connection]`;

/** The parts of a campaign (operator API) the CLI prints. */
interface Campaign {
  name: string;
  properties: {
    kind: string;
    state: string;
    createdTime: string;
    finishedTime: string | null;
    request: { hosts: string[] | null; noticeSeconds: number };
    lanes: Array<{
      scope: string; availabilitySet: string | null; state: string;
      updateDomains: Array<{ updateDomain: number; vms: string[]; phase: string; notBefore: string | null; approval: { by: string } | null }>;
    }>;
    virtualMachines: Array<{
      vm: string; host: string; updateDomain: number; outcome: string; pauseKind: string | null; pauseMs: number | null;
      clock: { kind: string; beforeMs?: number; afterMs?: number; reason?: string } | null;
      memory: { kind: string; preserved?: boolean; reason?: string };
      error: { code: string; reason: string } | null;
    }>;
    failedHosts: string[];
    summary: { vms: number; updated: number; failed: number; skipped: number };
  };
}

export async function maintenanceCommand(argv: string[], env: NodeJS.ProcessEnv, print: (line: string) => void): Promise<void> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      kind: { type: 'string' }, hosts: { type: 'string' }, 'notice-seconds': { type: 'string' }, json: { type: 'boolean' },
      'data-dir': { type: 'string' }, 'arm-port': { type: 'string' }, host: { type: 'string' }, ca: { type: 'string' },
      subscription: { type: 'string' },
    },
  });
  if (action !== 'start' && action !== 'status' && action !== 'cancel') {
    throw new CliError(`unknown maintenance command '${action ?? ''}'\n${MAINTENANCE_USAGE}`, 2);
  }
  const id = positionals[0];
  if (positionals.length > (action === 'start' ? 0 : 1)) throw new CliError(`maintenance ${action}: unexpected '${positionals.join(' ')}'\n${MAINTENANCE_USAGE}`, 2);
  if (action === 'cancel' && id === undefined) throw new CliError(`maintenance cancel: give the campaign ID\n${MAINTENANCE_USAGE}`, 2);
  const body = action === 'start' ? startBody(values) : undefined;
  const arm = await connectArm({
    dataDir: resolve(values['data-dir'] ?? env.NIMBUS_DATA_DIR ?? '.nimbus'), armPort: values['arm-port'] ?? env.NIMBUS_ARM_PORT,
    host: values.host, caFile: values.ca, env,
  });
  const base = `/subscriptions/${values.subscription ?? DEFAULT_SUBSCRIPTION_ID}/providers/Nimbus.Compute/maintenance/campaigns`;
  if (action === 'status' && id === undefined) {
    const list = ((await arm.call('GET', base)) as { value?: Campaign[] }).value ?? [];
    if (values.json) print(JSON.stringify(list, null, 2));
    else printList(list, print);
    return;
  }
  const campaign = (action === 'start' ? await arm.call('POST', base, body)
    : action === 'cancel' ? await arm.call('POST', `${base}/${encodeURIComponent(id ?? '')}/cancel`)
      : await arm.call('GET', `${base}/${encodeURIComponent(id ?? '')}`)) as Campaign;
  if (values.json) print(JSON.stringify(campaign, null, 2));
  else printCampaign(campaign, print);
}

function startBody(values: { kind?: string; hosts?: string; 'notice-seconds'?: string }): Record<string, unknown> {
  if (values.kind !== 'memory-preserving' && values.kind !== 'reboot') {
    throw new CliError(`maintenance start: --kind must be memory-preserving or reboot\n${MAINTENANCE_USAGE}`, 2);
  }
  const body: Record<string, unknown> = { kind: values.kind };
  if (values.hosts !== undefined) {
    const hosts = values.hosts.split(',').map((h) => h.trim()).filter((h) => h !== '');
    if (hosts.length === 0) throw new CliError('maintenance start: --hosts needs at least one host name', 2);
    body.hosts = hosts;
  }
  const notice = values['notice-seconds'];
  if (notice !== undefined) {
    if (!/^\d+$/.test(notice)) throw new CliError(`maintenance start: --notice-seconds expects a whole number of seconds, got '${notice}'`, 2);
    body.noticeSeconds = Number(notice);
  }
  return body;
}

function table(rows: string[][], print: (line: string) => void): void {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const row of rows) print(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}

function printList(campaigns: Campaign[], print: (line: string) => void): void {
  if (campaigns.length === 0) {
    print('no maintenance campaigns');
    return;
  }
  table([
    ['ID', 'KIND', 'STATE', 'CREATED', 'UPDATED/VMS'],
    ...campaigns.map((c) => [c.name, c.properties.kind, c.properties.state, c.properties.createdTime, `${c.properties.summary.updated}/${c.properties.summary.vms}`]),
  ], print);
}

function printCampaign(campaign: Campaign, print: (line: string) => void): void {
  const p = campaign.properties;
  print(`campaign    ${campaign.name}`);
  print(`kind        ${p.kind}`);
  print(`state       ${p.state}`);
  print(`hosts       ${p.request.hosts?.join(',') ?? 'all'}`);
  print(`notice      ${p.request.noticeSeconds} s`);
  print(`created     ${p.createdTime}${p.finishedTime ? `   finished ${p.finishedTime}` : ''}`);
  print(`vms         ${p.summary.vms} done: ${p.summary.updated} updated, ${p.summary.failed} failed, ${p.summary.skipped} skipped`);
  if (p.failedHosts.length > 0) print(`failed hosts ${p.failedHosts.join(', ')}`);
  print('');
  const domainRows = p.lanes.flatMap((lane) => lane.updateDomains.map((d) => [
    lane.availabilitySet ?? lane.scope, `UD${d.updateDomain}`, d.phase, d.approval?.by ?? '-', d.notBefore ?? '-', d.vms.join(','),
  ]));
  table([['SET', 'DOMAIN', 'PHASE', 'STARTED BY', 'NOT BEFORE', 'VMS'], ...domainRows], print);
  if (p.virtualMachines.length === 0) return;
  print('');
  table([
    ['VM', 'HOST', 'DOMAIN', 'OUTCOME', 'PAUSE', 'CLOCK BEFORE/AFTER SYNC', 'MEMORY'],
    ...p.virtualMachines.map((vm) => [
      vm.vm, vm.host, `UD${vm.updateDomain}`, vm.error ? `${vm.outcome} (${vm.error.code})` : vm.outcome,
      vm.pauseMs === null ? '-' : `${vm.pauseMs.toFixed(1)} ms ${vm.pauseKind ?? ''}`.trim(), describeClock(vm.clock), describeMemory(vm.memory),
    ]),
  ], print);
}

function describeClock(clock: Campaign['properties']['virtualMachines'][number]['clock']): string {
  if (clock === null) return '-';
  if (clock.kind === 'synced') return `${(clock.beforeMs ?? 0).toFixed(1)} ms / ${(clock.afterMs ?? 0).toFixed(2)} ms`;
  return `${clock.kind}${clock.reason ? ` (${clock.reason})` : ''}`;
}

function describeMemory(memory: Campaign['properties']['virtualMachines'][number]['memory']): string {
  if (memory.preserved !== undefined) return `${memory.preserved ? 'preserved' : 'NOT preserved'} (${memory.kind})`;
  return `${memory.kind}${memory.reason ? ` (${memory.reason})` : ''}`;
}
