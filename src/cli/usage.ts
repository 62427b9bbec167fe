// `nimbus usage`: an account's usage report (billable bytes per tier by Azure's rules, beside the bytes
// Nimbus physically stores), read from a running server's ARM endpoint (`GET …/storageAccounts/{a}/usage`,
// src/arm/resources/usage.ts). Also the account lookup that `nimbus lifecycle` shares.
//
//   nimbus usage [--account NAME] [--container C] [--json]
//
// The table has one row per container (soft-deleted containers are billed too and say so) and a total:
//
//   CONTAINER  HOT  COOL  COLD  ARCHIVE  BILLABLE  PHYSICAL  BLOBS  VERSIONS  SNAPSHOTS  SOFT-DELETED
//
// Byte counts are exact integers (no KiB rounding): they are what a bill is computed from. `--json`
// prints the server's UsageReport unchanged, for scripts.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { DEFAULT_SUBSCRIPTION_ID } from '../accounts/model.js';
import { DEV_ACCOUNT } from '../blob/service/accounts.js';
import type { UsageReport } from '../blob/service/billing/usage.js';
import { CliError, connectArm, type ArmClient } from './arm-client.js';

export const CONNECTION_USAGE = 'connection: [--data-dir DIR (default ./.nimbus)] [--arm-port N] [--host HOST] [--ca FILE] [--subscription ID]';

export const USAGE_USAGE = `usage: nimbus usage [--account NAME] [--container NAME] [--json] [connection]`;

/** parseArgs options every command that targets one account takes. */
export const ACCOUNT_TARGET_OPTIONS = {
  account: { type: 'string' }, 'data-dir': { type: 'string' }, 'arm-port': { type: 'string' }, host: { type: 'string' },
  ca: { type: 'string' }, subscription: { type: 'string' },
} as const;

export interface AccountTargetFlags {
  account?: string;
  'data-dir'?: string;
  'arm-port'?: string;
  host?: string;
  ca?: string;
  subscription?: string;
}

export interface AccountTarget {
  arm: ArmClient;
  name: string;
  /** The account's ARM resource id (`/subscriptions/…/storageAccounts/{name}`). */
  id: string;
}

/** Connects to the management endpoint and finds the account (default devstoreaccount1) by name. */
export async function connectToAccount(flags: AccountTargetFlags, env: NodeJS.ProcessEnv): Promise<AccountTarget> {
  const arm = await connectArm({
    dataDir: resolve(flags['data-dir'] ?? env.NIMBUS_DATA_DIR ?? '.nimbus'), armPort: flags['arm-port'] ?? env.NIMBUS_ARM_PORT,
    host: flags.host, caFile: flags.ca, env,
  });
  const subscription = flags.subscription ?? DEFAULT_SUBSCRIPTION_ID;
  const name = flags.account ?? DEV_ACCOUNT;
  const page = (await arm.call('GET', `/subscriptions/${subscription}/providers/Microsoft.Storage/storageAccounts`)) as { value?: Array<{ id: string; name: string }> };
  const account = page.value?.find((a) => a.name === name);
  if (!account) throw new CliError(`no storage account named '${name}' in subscription ${subscription} (see \`nimbus account list\`)`);
  return { arm, name, id: account.id };
}

export async function usageCommand(argv: string[], env: NodeJS.ProcessEnv, print: (line: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { ...ACCOUNT_TARGET_OPTIONS, container: { type: 'string' }, json: { type: 'boolean' } },
  });
  if (positionals.length > 0) throw new CliError(`usage: unexpected argument '${positionals[0] ?? ''}'\n${USAGE_USAGE}\n${CONNECTION_USAGE}`, 2);
  if (values.container === '') throw new CliError(`--container: give a container name\n${USAGE_USAGE}`, 2);
  const target = await connectToAccount(values, env);
  const query = values.container === undefined ? '' : `?container=${encodeURIComponent(values.container)}`;
  const report = (await target.arm.call('GET', `${target.id}/usage${query}`)) as UsageReport;
  if (values.json) {
    print(JSON.stringify(report, null, 2));
    return;
  }
  printReport(report, values.container, print);
}

const HEADER = ['CONTAINER', 'HOT', 'COOL', 'COLD', 'ARCHIVE', 'BILLABLE', 'PHYSICAL', 'BLOBS', 'VERSIONS', 'SNAPSHOTS', 'SOFT-DELETED'];

function printReport(report: UsageReport, container: string | undefined, print: (line: string) => void): void {
  print(`account ${report.account}, usage at ${new Date(report.atMs).toISOString()} (bytes; billable by Azure's rules, physical as stored by Nimbus)`);
  if (report.containers.length === 0) {
    print(container === undefined ? 'no containers' : `no container named '${container}'`);
    return;
  }
  const rows = report.containers.map((c) => [
    c.deleted ? `${c.container} (deleted)` : c.container,
    ...[c.billable.Hot, c.billable.Cool, c.billable.Cold, c.billable.Archive, c.billableBytes, c.physicalBytes].map(String),
    ...[c.counts.blobs, c.counts.versions, c.counts.snapshots, c.counts.softDeleted].map(String),
  ]);
  const sum = (pick: (c: UsageReport['containers'][number]) => number) => String(report.containers.reduce((n, c) => n + pick(c), 0));
  const total = [
    'TOTAL',
    ...[report.billable.Hot, report.billable.Cool, report.billable.Cold, report.billable.Archive, report.billableBytes, report.physicalBytes].map(String),
    sum((c) => c.counts.blobs), sum((c) => c.counts.versions), sum((c) => c.counts.snapshots), sum((c) => c.counts.softDeleted),
  ];
  printTable([HEADER, ...rows, total], print);
  // Physical bytes are deduplicated across containers, so the total can be less than the column's sum.
}

/** Left-aligned first column, right-aligned numbers, two spaces between. */
function printTable(rows: readonly string[][], print: (line: string) => void): void {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  for (const row of rows) {
    print(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ').trimEnd());
  }
}
