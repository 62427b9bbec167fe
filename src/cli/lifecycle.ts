// `nimbus lifecycle show | run`: an account's lifecycle management policy and its runs, through a
// running server's ARM endpoint (src/arm/resources/management-policies.ts).
//
//   nimbus lifecycle show [--account NAME] [--json]   the policy (GET managementPolicies/default) and
//                                                     the last run's report (GET …/default/lastRun)
//   nimbus lifecycle run  [--account NAME] [--json]   run the policy now (POST …/default/run), print
//                                                     what it did
//
// The policy itself is set with any ARM client (`managementPolicies.createOrUpdate`, `az storage account
// management-policy create`); the CLI only shows and runs it. An account without a policy is refused by
// the server (404 ManagementPolicyNotFound) and the CLI exits 1 saying so; `show` prints "no policy".
import { parseArgs } from 'node:util';
import type { LifecycleRunReport } from '../blob/service/lifecycle/executor.js';
import type { ManagementPolicy } from '../blob/service/lifecycle/policy.js';
import { ArmCallError, CliError } from './arm-client.js';
import { ACCOUNT_TARGET_OPTIONS, CONNECTION_USAGE, connectToAccount, type AccountTarget } from './usage.js';

export const LIFECYCLE_USAGE = `usage: nimbus lifecycle show [--account NAME] [--json] [connection]
       nimbus lifecycle run  [--account NAME] [--json] [connection]`;

interface PolicyView {
  properties: { lastModifiedTime: string; policy: ManagementPolicy };
}

type RunView = { ran: true; report: LifecycleRunReport } | { ran: false; reason: string };

export async function lifecycleCommand(argv: string[], env: NodeJS.ProcessEnv, print: (line: string) => void): Promise<void> {
  const [action, ...rest] = argv;
  const { values } = parseArgs({ args: rest, options: { ...ACCOUNT_TARGET_OPTIONS, json: { type: 'boolean' } } });
  if (action !== 'show' && action !== 'run') throw new CliError(`unknown lifecycle command '${action ?? ''}'\n${LIFECYCLE_USAGE}\n${CONNECTION_USAGE}`, 2);
  const target = await connectToAccount(values, env);
  const path = `${target.id}/managementPolicies/default`;
  if (action === 'run') {
    const run = (await target.arm.call('POST', `${path}/run`)) as RunView;
    if (values.json) print(JSON.stringify({ account: target.name, ...run }, null, 2));
    else if (run.ran) printRun('ran', run.report, print);
    else print(`lifecycle policy of ${target.name}: nothing ran (${run.reason})`);
    return;
  }
  const policy = await policyOrNone(target);
  const { report } = (await target.arm.call('GET', `${path}/lastRun`)) as { report: LifecycleRunReport | null };
  if (values.json) {
    print(JSON.stringify({ account: target.name, policy: policy?.properties ?? null, lastRun: report }, null, 2));
    return;
  }
  printPolicy(target.name, policy, print);
  if (report === null) print('last run       never');
  else printRun('last run', report, print);
}

async function policyOrNone(target: AccountTarget): Promise<PolicyView | undefined> {
  try {
    return (await target.arm.call('GET', `${target.id}/managementPolicies/default`)) as PolicyView;
  } catch (error) {
    if (error instanceof ArmCallError && error.code === 'ManagementPolicyNotFound') return undefined;
    throw error;
  }
}

function printPolicy(account: string, view: PolicyView | undefined, print: (line: string) => void): void {
  print(`account        ${account}`);
  if (view === undefined) {
    print('policy         none (set one with managementPolicies.createOrUpdate)');
    return;
  }
  const { rules } = view.properties.policy;
  print(`policy         ${rules.length} rule${rules.length === 1 ? '' : 's'}, last modified ${view.properties.lastModifiedTime}`);
  for (const rule of rules) {
    const { filters, actions } = rule.definition;
    const prefixes = filters.prefixMatch?.length ? `, prefixes ${filters.prefixMatch.join(' ')}` : '';
    const tags = filters.blobIndexMatch?.length ? `, tags ${filters.blobIndexMatch.map((c) => `${c.name}${c.op}${c.value}`).join(' ')}` : '';
    print(`  rule ${rule.name} (${rule.enabled ? 'enabled' : 'disabled'}): ${filters.blobTypes.join(' ')}${prefixes}${tags}`);
    for (const [target, group] of Object.entries(actions)) {
      for (const [name, condition] of Object.entries(group ?? {})) {
        if (typeof condition !== 'object' || condition === null) continue;
        const when = Object.entries(condition).map(([key, days]) => `${key} ${String(days)}`).join(', ');
        print(`    ${target}.${name} when ${when}`);
      }
    }
  }
}

function printRun(label: 'ran' | 'last run', report: LifecycleRunReport, print: (line: string) => void): void {
  const c = report.counts;
  print(`${label.padEnd(15)}${new Date(report.startedMs).toISOString()}: scanned ${report.containersScanned} container(s), ${report.objectsScanned} object(s)`);
  print(`actions        tierToCool ${c.tierToCool}, tierToCold ${c.tierToCold}, tierToArchive ${c.tierToArchive}, delete ${c.delete}, failed ${c.failed}`);
  if (report.actions.length === 0) return;
  const rows = report.actions.map((a) => [a.action, a.rule, a.container, a.blob, a.id === undefined ? a.target : `${a.target} ${a.id}`, a.error ? `failed: ${a.error}` : a.outcome]);
  printLeft([['ACTION', 'RULE', 'CONTAINER', 'BLOB', 'TARGET', 'OUTCOME'], ...rows], print);
  if (report.actionsTruncated) print(`(more actions than the report keeps; the counts above are complete)`);
}

function printLeft(rows: readonly string[][], print: (line: string) => void): void {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  for (const row of rows) print(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}
