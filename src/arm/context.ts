// What every ARM handler receives and returns, and the request helpers they share: reading a JSON or
// form body (bounded), typed access to JSON fields, and ARM resource ids.
//
// A handler gets the route's path parameters (already URL-decoded) and returns a Reply; it never writes
// to the socket. Bodies are read only by the handlers that need them.
import type { IncomingMessage } from 'node:http';
import type { BlobApi } from '../blob/service/api.js';
import type { ResourceGroups } from '../accounts/resource-groups.js';
import type { StorageAccounts } from '../accounts/storage-accounts.js';
import type { DiskService } from '../disks/service/disk-service.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/log.js';
import { armFail } from './errors.js';
import type { TokenIssuer } from './tokens.js';
import type { RoleAssignments } from '../authz/role-assignments.js';
import type { ArmCompute } from './resources/compute-common.js';

export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface ArmDeps {
  groups: ResourceGroups;
  accounts: StorageAccounts;
  blob: BlobApi;
  disks: DiskService;
  tokens: TokenIssuer;
  roleAssignments: RoleAssignments;
  /** Virtual machines, availability sets and maintenance campaigns. */
  compute: ArmCompute;
  clock: Clock;
  logger: Logger;
  /** `http://127.0.0.1:<blobPort>/<account>/`: where an account's blob endpoint is. */
  blobEndpoint(account: string): string;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface ArmContext {
  deps: ArmDeps;
  req: IncomingMessage;
  method: string;
  /** Path as sent, without the query. */
  path: string;
  query: URLSearchParams;
  params: Readonly<Record<string, string>>;
  nowMs: number;
  /** `https://<host>:<port>` as the client addressed us (for absolute URLs: nextLink, issuer). */
  baseUrl: string;
}

export interface Reply {
  status: number;
  body?: JsonValue;
  headers?: Record<string, string>;
}

export function json(status: number, body: JsonValue, headers?: Record<string, string>): Reply {
  return headers ? { status, body, headers } : { status, body };
}

export function param(ctx: ArmContext, name: string): string {
  const value = ctx.params[name];
  if (value === undefined) armFail('InternalServerError', { detail: `route has no parameter ${name}` });
  return value;
}

export async function readBodyText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buffer.length;
    if (size > BODY_LIMIT_BYTES) armFail('RequestEntityTooLarge', { limit: String(BODY_LIMIT_BYTES) });
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The request body as a JSON object; an empty body is `{}`. Anything else is 400 InvalidRequestContent. */
export async function readJsonObject(ctx: ArmContext): Promise<JsonObject> {
  const text = await readBodyText(ctx.req);
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    armFail('InvalidRequestContent', { detail: error instanceof Error ? error.message : String(error) });
  }
  if (!isObject(value)) armFail('InvalidRequestContent', { detail: 'the body must be a JSON object.' });
  return value;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Typed field readers: absent → undefined; present with the wrong type → 400 InvalidRequestContent. */
export const field = {
  string(object: JsonObject, key: string, path: string): string | undefined {
    const value = object[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') wrongType(`${path}${key}`, 'a string');
    return value;
  },
  boolean(object: JsonObject, key: string, path: string): boolean | undefined {
    const value = object[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') wrongType(`${path}${key}`, 'a boolean');
    return value;
  },
  number(object: JsonObject, key: string, path: string): number | undefined {
    const value = object[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number') wrongType(`${path}${key}`, 'a number');
    return value;
  },
  object(object: JsonObject, key: string, path: string): JsonObject | undefined {
    const value = object[key];
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) wrongType(`${path}${key}`, 'an object');
    return value;
  },
  tags(object: JsonObject, key: string): Record<string, string> | undefined {
    const value = field.object(object, key, '');
    if (value === undefined) return undefined;
    const tags: Record<string, string> = {};
    for (const [name, tag] of Object.entries(value)) {
      if (typeof tag !== 'string') wrongType(`tags.${name}`, 'a string');
      tags[name] = tag;
    }
    return tags;
  },
};

function wrongType(path: string, expected: string): never {
  armFail('InvalidRequestContent', { detail: `'${path}' must be ${expected}.`, target: path });
}

export function resourceGroupId(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
}

export function storageAccountId(subscriptionId: string, resourceGroup: string, account: string): string {
  return `${resourceGroupId(subscriptionId, resourceGroup)}/providers/Microsoft.Storage/storageAccounts/${account}`;
}
