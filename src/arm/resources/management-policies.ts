// Microsoft.Storage/storageAccounts/managementPolicies over ARM
// (https://learn.microsoft.com/rest/api/storagerp/management-policies): the account's lifecycle
// management policy, plus two Nimbus-specific admin calls beside it.
//
//   GET     …/storageAccounts/{a}/managementPolicies/default          200 | 404 ManagementPolicyNotFound
//   PUT     …/storageAccounts/{a}/managementPolicies/default          body { properties: { policy } } → 200
//   DELETE  …/storageAccounts/{a}/managementPolicies/default          200 deleted, 204 there was none
//   POST    …/storageAccounts/{a}/managementPolicies/default/run      Nimbus: run the policy now
//   GET     …/storageAccounts/{a}/managementPolicies/default/lastRun  Nimbus: the last run's report
//
// The only policy name Azure accepts is `default` (any other answers 404), so the name is a literal in
// the route. The body of GET and PUT is Azure's:
//
//   { id, name: 'DefaultManagementPolicy', type: 'Microsoft.Storage/storageAccounts/managementPolicies',
//     properties: { lastModifiedTime, policy: { rules } } }
//
// Observed Azure behaviour (Azure SDK for .NET storage management tests): GET without a policy fails with
// `ManagementPolicyNotFound`, and deleting a policy that does not exist succeeds.
// Validation lives in the blob service (lifecycle/policy.ts); its LifecyclePolicyError already carries
// ARM's codes (MissingRequiredParameter, InvalidValuesForRequestParameters) and `target`, so it passes
// through to the ARM error table unchanged.
//
// Run now answers `{ ran: true, report }` with the service's LifecycleRunReport, or `{ ran: false, reason }`
// when the policy has no enabled rule; lastRun answers `{ report: LifecycleRunReport | null }`.
import type { StorageAccountRecord } from '../../accounts/model.js';
import type { LifecycleRunReport } from '../../blob/service/lifecycle/executor.js';
import { policyProperties, type StoredPolicy } from '../../blob/service/lifecycle/policy.js';
import { armFail } from '../errors.js';
import { json, param, readJsonObject, storageAccountId, type ArmContext, type JsonValue, type Reply } from '../context.js';
import type { RouteDef } from '../routes.js';

const POLICY = '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/managementPolicies/default';

export const MANAGEMENT_POLICY_ROUTES = [
  { method: 'GET', path: POLICY, kind: 'arm', handler: getPolicy },
  { method: 'PUT', path: POLICY, kind: 'arm', handler: putPolicy },
  { method: 'DELETE', path: POLICY, kind: 'arm', handler: deletePolicy },
  { method: 'POST', path: `${POLICY}/run`, kind: 'arm', handler: runNow },
  { method: 'GET', path: `${POLICY}/lastRun`, kind: 'arm', handler: lastRun },
] as const satisfies readonly RouteDef[];

function accountOf(ctx: ArmContext): StorageAccountRecord {
  return ctx.deps.accounts.get(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'), param(ctx, 'accountName'));
}

function render(account: StorageAccountRecord, stored: StoredPolicy): JsonValue {
  return {
    id: `${storageAccountId(account.subscriptionId, account.resourceGroup, account.name)}/managementPolicies/default`,
    name: 'DefaultManagementPolicy',
    type: 'Microsoft.Storage/storageAccounts/managementPolicies',
    properties: policyProperties(stored),
  };
}

async function storedPolicyOf(ctx: ArmContext, account: StorageAccountRecord): Promise<StoredPolicy> {
  const stored = await ctx.deps.blob.getManagementPolicy(account.name);
  if (stored === undefined) armFail('ManagementPolicyNotFound', { account: account.name });
  return stored;
}

async function getPolicy(ctx: ArmContext): Promise<Reply> {
  const account = accountOf(ctx);
  return json(200, render(account, await storedPolicyOf(ctx, account)));
}

async function putPolicy(ctx: ArmContext): Promise<Reply> {
  const account = accountOf(ctx);
  const body = await readJsonObject(ctx);
  // The service validates the whole `properties` object and names the offending JSON path in `target`.
  const stored = await ctx.deps.blob.setManagementPolicy(account.name, body.properties ?? null, ctx.nowMs);
  return json(200, render(account, stored));
}

async function deletePolicy(ctx: ArmContext): Promise<Reply> {
  const account = accountOf(ctx);
  return { status: (await ctx.deps.blob.deleteManagementPolicy(account.name)) ? 200 : 204 };
}

async function runNow(ctx: ArmContext): Promise<Reply> {
  const account = accountOf(ctx);
  await storedPolicyOf(ctx, account);
  const report = await ctx.deps.blob.runLifecycleNow(account.name, ctx.nowMs);
  ctx.deps.logger.log('info', 'lifecycle-run-now', { account: account.name, ran: report !== undefined, counts: report?.counts });
  if (report === undefined) return json(200, { ran: false, reason: 'The policy has no enabled rule.' });
  return json(200, { ran: true, report: reportJson(report) });
}

async function lastRun(ctx: ArmContext): Promise<Reply> {
  const account = accountOf(ctx);
  const report = await ctx.deps.blob.lastLifecycleRun(account.name);
  return json(200, { report: report === undefined ? null : reportJson(report) });
}

/** The report is plain data (numbers, strings, arrays); optional fields that are absent are dropped by JSON. */
function reportJson(report: LifecycleRunReport): JsonValue {
  return report as unknown as JsonValue;
}
