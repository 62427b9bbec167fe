// `nimbus account list | show | set`: storage accounts and their data-protection switches, through the
// management endpoint of a running Nimbus (arm-client.ts says how it is found and authenticated).
//
//   nimbus account list
//   nimbus account show [--account NAME] [--json]
//   nimbus account set  [--account NAME] [--versioning on|off] [--soft-delete-days N|off]
//                       [--container-soft-delete-days N|off] [--json]
//
// The account defaults to devstoreaccount1. Accounts are looked up by name in --subscription (default
// 00000000-0000-0000-0000-000000000000, where the built-in accounts and every SDK example live).
// `set` sends one PATCH of blobServices/default with only the switches given, then shows the result.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { DEFAULT_SUBSCRIPTION_ID } from '../accounts/model.js';
import { DEV_ACCOUNT } from '../blob/service/accounts.js';
import { CliError, connectArm, type ArmClient } from './arm-client.js';

export const ACCOUNT_USAGE = `usage: nimbus account list [connection]
       nimbus account show [--account NAME] [--json] [connection]
       nimbus account set  [--account NAME] [--versioning on|off] [--soft-delete-days N|off]
                           [--container-soft-delete-days N|off] [--json] [connection]
connection: [--data-dir DIR (default ./.nimbus)] [--arm-port N] [--host HOST] [--ca FILE] [--subscription ID]`;

interface AccountSummary {
  id: string;
  name: string;
  location: string;
  properties?: { primaryEndpoints?: { blob?: string } };
}

interface BlobServiceView {
  properties: {
    isVersioningEnabled?: boolean;
    deleteRetentionPolicy?: { enabled: boolean; days?: number; allowPermanentDelete?: boolean };
    containerDeleteRetentionPolicy?: { enabled: boolean; days?: number };
  };
}

type RetentionChange = { enabled: false } | { enabled: true; days: number };

export async function accountCommand(argv: string[], env: NodeJS.ProcessEnv, print: (line: string) => void): Promise<void> {
  const [action, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      account: { type: 'string' }, versioning: { type: 'string' }, 'soft-delete-days': { type: 'string' },
      'container-soft-delete-days': { type: 'string' }, json: { type: 'boolean' },
      'data-dir': { type: 'string' }, 'arm-port': { type: 'string' }, host: { type: 'string' }, ca: { type: 'string' },
      subscription: { type: 'string' },
    },
  });
  if (action !== 'list' && action !== 'show' && action !== 'set') throw new CliError(`unknown account command '${action ?? ''}'\n${ACCOUNT_USAGE}`, 2);
  const change = action === 'set' ? parseSetFlags(values) : undefined;
  const arm = await connectArm({
    dataDir: resolve(values['data-dir'] ?? env.NIMBUS_DATA_DIR ?? '.nimbus'), armPort: values['arm-port'] ?? env.NIMBUS_ARM_PORT,
    host: values.host, caFile: values.ca, env,
  });
  const subscription = values.subscription ?? DEFAULT_SUBSCRIPTION_ID;
  const accounts = await listAccounts(arm, subscription);
  if (action === 'list') {
    printList(accounts, print);
    return;
  }
  const name = values.account ?? DEV_ACCOUNT;
  const account = accounts.find((a) => a.name === name);
  if (!account) throw new CliError(`no storage account named '${name}' in subscription ${subscription} (see \`nimbus account list\`)`);
  const path = `${account.id}/blobServices/default`;
  const service = (change === undefined ? await arm.call('GET', path) : await arm.call('PATCH', path, { properties: change })) as BlobServiceView;
  if (values.json) print(JSON.stringify({ account: account.name, resourceGroup: resourceGroupOf(account.id), ...service.properties }, null, 2));
  else printService(account, service, print);
}

function parseSetFlags(values: { versioning?: string; 'soft-delete-days'?: string; 'container-soft-delete-days'?: string }): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  if (values.versioning !== undefined) properties.isVersioningEnabled = parseOnOff(values.versioning, '--versioning');
  if (values['soft-delete-days'] !== undefined) properties.deleteRetentionPolicy = parseRetention(values['soft-delete-days'], '--soft-delete-days');
  if (values['container-soft-delete-days'] !== undefined) {
    properties.containerDeleteRetentionPolicy = parseRetention(values['container-soft-delete-days'], '--container-soft-delete-days');
  }
  if (Object.keys(properties).length === 0) {
    throw new CliError(`account set: nothing to change (give --versioning, --soft-delete-days or --container-soft-delete-days)\n${ACCOUNT_USAGE}`, 2);
  }
  return properties;
}

function parseOnOff(value: string, flag: string): boolean {
  if (value === 'on' || value === 'true') return true;
  if (value === 'off' || value === 'false') return false;
  throw new CliError(`${flag}: expected on or off, got '${value}'`, 2);
}

function parseRetention(value: string, flag: string): RetentionChange {
  if (value === 'off') return { enabled: false };
  const days = Number(value);
  if (!/^\d+$/.test(value) || days < 1 || days > 365) throw new CliError(`${flag}: expected a number of days from 1 to 365, or off; got '${value}'`, 2);
  return { enabled: true, days };
}

async function listAccounts(arm: ArmClient, subscription: string): Promise<AccountSummary[]> {
  const page = (await arm.call('GET', `/subscriptions/${subscription}/providers/Microsoft.Storage/storageAccounts`)) as { value?: AccountSummary[] };
  return page.value ?? [];
}

function resourceGroupOf(id: string): string {
  return /\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? '';
}

function printList(accounts: AccountSummary[], print: (line: string) => void): void {
  const rows = accounts.map((a) => [a.name, resourceGroupOf(a.id), a.location, a.properties?.primaryEndpoints?.blob ?? '']);
  const header = ['NAME', 'RESOURCE GROUP', 'LOCATION', 'BLOB ENDPOINT'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const row of [header, ...rows]) print(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}

function printService(account: AccountSummary, service: BlobServiceView, print: (line: string) => void): void {
  const p = service.properties;
  const retention = (policy: { enabled: boolean; days?: number } | undefined) =>
    policy?.enabled ? `on, ${policy.days ?? '?'} days` : 'off';
  const permanent = p.deleteRetentionPolicy?.allowPermanentDelete ? ' (permanent delete allowed)' : '';
  print(`account                 ${account.name}`);
  print(`resource group          ${resourceGroupOf(account.id)}`);
  print(`blob endpoint           ${account.properties?.primaryEndpoints?.blob ?? ''}`);
  print(`versioning              ${p.isVersioningEnabled ? 'on' : 'off'}`);
  print(`blob soft delete        ${retention(p.deleteRetentionPolicy)}${permanent}`);
  print(`container soft delete   ${retention(p.containerDeleteRetentionPolicy)}`);
}
