// Account-level operations (spec/blob-rest.md §2 "Account level", §6 List Containers, §15 service
// properties): /{account}/?comp=list, ?restype=service&comp=properties, ?restype=account&comp=properties.

import { renderContainerList, renderServiceProperties } from '../render.js';
import { readSmallBody, serviceEndpointOf, type Reply, type RequestContext } from '../request.js';
import { parseServiceProperties } from '../xml-input.js';
import { parseInclude, parseMaxResults, xmlReply } from './common.js';

const CONTAINER_INCLUDES: ReadonlySet<string> = new Set(['metadata', 'deleted', 'system']);

export async function listContainers(ctx: RequestContext): Promise<Reply> {
  const q = ctx.query.values;
  const maxResults = parseMaxResults(ctx);
  // `deleted` and `system` list nothing extra: Nimbus has no soft-deleted or system containers.
  const include = parseInclude(ctx, CONTAINER_INCLUDES);
  const includeMetadata = include.has('metadata');
  const includeDeleted = include.has('deleted');
  const result = await ctx.deps.api.listContainers(
    ctx.target.account, { prefix: q.prefix, marker: q.marker, maxResults, includeMetadata, includeDeleted }, ctx.nowMs,
  );
  const echo = { prefix: q.prefix, marker: q.marker, maxResults: q.maxresults === undefined ? undefined : maxResults };
  return xmlReply(ctx, renderContainerList(serviceEndpointOf(ctx), echo, result, includeMetadata));
}

export async function getServiceProperties(ctx: RequestContext): Promise<Reply> {
  const properties = await ctx.deps.api.getServiceProperties(ctx.target.account);
  return xmlReply(ctx, renderServiceProperties(properties));
}

export async function setServiceProperties(ctx: RequestContext): Promise<Reply> {
  const change = parseServiceProperties(await readSmallBody(ctx.req));
  await ctx.deps.api.setServiceProperties(ctx.target.account, change);
  return { status: 202 };
}

/** Get Account Information: the figures of a general-purpose v2 LRS account without HNS. */
export function getAccountInfo(ctx: RequestContext): Promise<Reply> {
  ctx.out['x-ms-sku-name'] = 'Standard_LRS';
  ctx.out['x-ms-account-kind'] = 'StorageV2';
  ctx.out['x-ms-is-hns-enabled'] = 'false';
  return Promise.resolve({ status: 200 });
}
