// The usage (billing) report of a storage account over ARM. Nimbus-specific: Azure has no such
// resource (its bill comes from metering); the path sits under the account so the same bearer token
// and api-version rules apply. `nimbus usage` renders it.
//
//   GET …/storageAccounts/{a}/usage?api-version=…[&container=NAME][&detail=true]
//       200 UsageReport (src/blob/service/billing/usage.ts), as the service computes it:
//       { account, atMs, billable { Hot, Cool, Cold, Archive }, billableBytes, physicalBytes,
//         containers: [{ container, deleted, billable, billableBytes, counts, physicalBytes, blobs? }] }
//
// `container` limits the report to that container (an unknown name gives an empty `containers`);
// `detail=true` adds per-blob, per-object lines. The report is computed at the request's time.
import { armFail } from '../errors.js';
import { json, param, type ArmContext, type JsonValue, type Reply } from '../context.js';
import type { RouteDef } from '../routes.js';

const ACCOUNT = '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}';

export const USAGE_ROUTES = [
  { method: 'GET', path: `${ACCOUNT}/usage`, kind: 'arm', handler: getUsage },
] as const satisfies readonly RouteDef[];

async function getUsage(ctx: ArmContext): Promise<Reply> {
  const account = ctx.deps.accounts.get(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'), param(ctx, 'accountName'));
  const container = ctx.query.get('container') ?? undefined;
  if (container === '') armFail('InvalidParameter', { target: 'container', detail: 'Give a container name, or leave the parameter out.' });
  const detail = parseDetail(ctx.query.get('detail'));
  const report = await ctx.deps.blob.usageReport(account.name, ctx.nowMs, { container, detail });
  // Plain data: numbers, strings, arrays; absent optional fields are dropped by JSON.
  return json(200, report as unknown as JsonValue);
}

function parseDetail(value: string | null): boolean {
  if (value === null || value === 'false') return false;
  if (value === 'true') return true;
  return armFail('InvalidParameter', { target: 'detail', detail: `Expected true or false; got '${value}'.` });
}
