// Managed-disk helpers for tests: @azure/arm-compute pointed at a test server (same recipe as
// helpers/arm.ts: endpoint + management scope + the endpoint's CA), and the blob-side moves a
// client makes with a grant-access SAS (upload an image, download it).
import assert from 'node:assert/strict';
import { ComputeManagementClient } from '@azure/arm-compute';
import type { Disk } from '@azure/arm-compute';
import { AnonymousCredential, PageBlobClient } from '@azure/storage-blob';
import { armClients, MANAGEMENT_SCOPE, type ArmClients } from './arm.js';
import { startTestServer, type TestServer } from './server.js';

export interface DiskClients extends ArmClients {
  compute: ComputeManagementClient;
}

export function diskClients(srv: Pick<TestServer, 'armUrl' | 'armCaPem'>): DiskClients {
  const arm = armClients(srv);
  const compute = new ComputeManagementClient(arm.tokenCredential, arm.subscriptionId, {
    endpoint: srv.armUrl, credentials: { scopes: [MANAGEMENT_SCOPE] }, tlsOptions: { ca: srv.armCaPem }, retryOptions: { maxRetries: 0 },
  });
  return { ...arm, compute };
}

/** Fast polling for CopyStart (the server also sends Retry-After: 1). */
export const FAST_POLL = { updateIntervalInMs: 20 };

/** A test server with disk clients and one resource group; stopped when the test ends. */
export async function startDiskServer(t: { after(fn: () => Promise<void>): void }, group: string): Promise<TestServer & DiskClients> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const clients = diskClients(srv);
  await clients.resources.resourceGroups.createOrUpdate(group, { location: 'eastus' });
  return { ...srv, ...clients };
}

export function pageClient(sasUrl: string | undefined): PageBlobClient {
  assert.ok(sasUrl, 'a SAS URL');
  return new PageBlobClient(sasUrl, new AnonymousCredential(), { retryOptions: { maxTries: 1 } });
}

/** Deterministic bytes (a seeded xorshift), so a failure replays. */
export function patternBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Creates an Upload disk, writes `image` through a Write SAS (≤ 4 MiB per Put Page), finalizes it. */
export async function uploadDisk(c: DiskClients, group: string, name: string, location: string, image: Buffer): Promise<Disk> {
  const created = await c.compute.disks.createOrUpdate(group, name, {
    location, sku: { name: 'Standard_LRS' }, creationData: { createOption: 'Upload', uploadSizeBytes: image.length },
  });
  assert.equal(created.diskState, 'ReadyToUpload');
  const { accessSAS } = await c.compute.disks.grantAccess(group, name, { access: 'Write', durationInSeconds: 3600 });
  const blob = pageClient(accessSAS);
  // 1 MiB pieces, all-zero ones skipped: a sparse image stores (and bills) only what was written.
  for (let at = 0; at < image.length; at += 1024 * 1024) {
    const chunk = image.subarray(at, Math.min(image.length, at + 1024 * 1024));
    if (chunk.some((b) => b !== 0)) await blob.uploadPages(chunk, at, chunk.length);
  }
  await c.compute.disks.revokeAccess(group, name);
  return c.compute.disks.get(group, name);
}

/** The whole image behind a Read SAS. */
export async function download(sasUrl: string | undefined): Promise<Buffer> {
  return pageClient(sasUrl).downloadToBuffer();
}

/** Where a disk's page blob lives (what a VM writes through NBD); tests write it in-process. */
export function diskBlobRef(disk: Disk, region: string): { account: string; container: string; blob: string } {
  assert.ok(disk.uniqueId);
  return { account: `md-${region}`, container: `d-${disk.uniqueId}`, blob: 'disk' };
}
