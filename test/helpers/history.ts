// Helpers for the versioning / snapshot / soft-delete suites: a compact view of a container's
// full history listing, so tests compare one array instead of poking at BlobItem fields.
import type { BlobItem, ContainerClient, ContainerListBlobsOptions } from '@azure/storage-blob';
import { days } from '../../src/platform/clock.js';
import type { TestServer } from './server.js';

/** Azure's version id / snapshot format: ISO 8601 UTC with exactly 7 fractional digits. */
export const TIME_ID = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;

export const EVERYTHING: ContainerListBlobsOptions = { includeVersions: true, includeSnapshots: true, includeDeleted: true };

/** One listing row: which object of which name, and whether it is current or soft-deleted. */
export interface Row {
  name: string;
  kind: 'snapshot' | 'version' | 'current' | 'base';
  id?: string;
  deleted?: true;
}

export function rowOf(item: BlobItem): Row {
  const row: Row = item.snapshot
    ? { name: item.name, kind: 'snapshot', id: item.snapshot }
    : item.versionId !== undefined
      ? { name: item.name, kind: item.isCurrentVersion ? 'current' : 'version', id: item.versionId }
      : { name: item.name, kind: 'base' };
  if (item.deleted) row.deleted = true;
  return row;
}

export async function listItems(container: ContainerClient, options: ContainerListBlobsOptions = EVERYTHING): Promise<BlobItem[]> {
  const items: BlobItem[] = [];
  for await (const item of container.listBlobsFlat(options)) items.push(item);
  return items;
}

export async function listRows(container: ContainerClient, options: ContainerListBlobsOptions = EVERYTHING): Promise<Row[]> {
  return (await listItems(container, options)).map(rowOf);
}

/** Version ids of a name, oldest first (previous versions then the current one), deleted ones excluded. */
export async function versionIdsOf(container: ContainerClient, name: string): Promise<string[]> {
  const items = await listItems(container, { includeVersions: true, prefix: name });
  return items.filter((i) => i.name === name && i.versionId !== undefined).map((i) => i.versionId as string);
}

export async function enableVersioning(srv: TestServer, versioning = true): Promise<void> {
  await srv.nimbus.api.setDataProtection('devstoreaccount1', { versioning });
}

export async function enableSoftDelete(srv: TestServer, retentionDays = 7, allowPermanentDelete = false): Promise<void> {
  await srv.nimbus.api.setDataProtection('devstoreaccount1', { deleteRetention: { enabled: true, days: retentionDays, allowPermanentDelete } });
}

/** Moves the manual clock and runs the purge and GC, as the scheduler would. */
export async function advanceDays(srv: TestServer, n: number): Promise<void> {
  srv.clock.advance(days(n));
  await srv.runDue();
}

export const text = async (download: Promise<Buffer>): Promise<string> => (await download).toString('utf8');
