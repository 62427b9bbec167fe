// BlobService: the blob service behind every adapter (Blob REST today, ARM and the CLI later).
// It only routes each operation to the module that owns its rules.
import type { BlockStore } from '../../engine/blocks/block-store.js';
import type { MetaStore } from '../../engine/meta/meta-store.js';
import { EtagSource } from '../../platform/ids.js';
import type { BlobApi } from './api.js';
import { Blobs } from './blobs.js';
import { Containers } from './containers.js';
import { listBlobs } from './listing.js';
import { purgeExpired } from './purge.js';
import { TimeIds } from './time-ids.js';
import { AZURE_REHYDRATION, type RehydrationTimes } from './tiers.js';
import type { PageStore } from '../../engine/pages/page-store.js';
import type { ContainerRef, ListBlobsRequest, ListBlobsResult } from './model.js';
import { Lifecycle, type LifecycleOptions } from './lifecycle/lifecycle.js';
import { usageReport } from './billing/usage.js';

export interface BlobServiceDeps {
  meta: MetaStore;
  blocks: BlockStore;
  pages: PageStore;
  /** How long rehydration out of Archive takes (default: Azure's figures). */
  rehydration?: RehydrationTimes;
  /** Lifecycle schedule and report size (default: once a day, 1000 actions per report). */
  lifecycle?: Partial<LifecycleOptions>;
}

export function createBlobService(deps: BlobServiceDeps): BlobApi {
  const etags = new EtagSource();
  const containers = new Containers({ meta: deps.meta, etags });
  const blobs = new Blobs({ meta: deps.meta, blocks: deps.blocks, pages: deps.pages, etags, ids: new TimeIds(), rehydration: deps.rehydration ?? AZURE_REHYDRATION });
  const lifecycle = new Lifecycle({ meta: deps.meta, blobs, options: deps.lifecycle });
  const list = (ref: ContainerRef, request: ListBlobsRequest, now: number): Promise<ListBlobsResult> =>
    deps.meta.read((tx) => listBlobs(tx, ref, request, now));
  return {
    getServiceProperties: (a) => containers.getServiceProperties(a),
    setServiceProperties: (a, c) => containers.setServiceProperties(a, c),
    listContainers: (a, r, n) => containers.listContainers(a, r, n),
    createContainer: (r, o, n) => containers.createContainer(r, o, n),
    getContainer: (r, o, n) => containers.getContainer(r, o, n),
    deleteContainer: (r, o, n) => containers.deleteContainer(r, o, n),
    setContainerMetadata: (r, o, n) => containers.setContainerMetadata(r, o, n),
    getContainerAcl: (r, o, n) => containers.getContainerAcl(r, o, n),
    setContainerAcl: (r, o, n) => containers.setContainerAcl(r, o, n),
    leaseContainer: (r, a, c, n) => containers.leaseContainer(r, a, c, n),
    getDataProtection: (a) => containers.getDataProtection(a),
    setDataProtection: (a, c) => containers.setDataProtection(a, c),
    publicAccessOf: (r) => containers.publicAccessOf(r),
    listBlobs: list,
    putBlob: (r, q, n) => blobs.putBlob(r, q, n),
    putBlock: (r, id, b, o, n) => blobs.putBlock(r, id, b, o, n),
    putBlockFromUrl: (r, id, s, o, n) => blobs.putBlockFromUrl(r, id, s, o, n),
    putBlockList: (r, q, n) => blobs.putBlockList(r, q, n),
    getBlockList: (r, o, n) => blobs.getBlockList(r, o, n),
    getBlob: (r, o, n) => blobs.getBlob(r, o, n),
    getBlobProperties: (r, o, n) => blobs.getBlobProperties(r, o, n),
    setBlobHttpHeaders: (r, o, n) => blobs.setBlobHttpHeaders(r, o, n),
    setBlobMetadata: (r, o, n) => blobs.setBlobMetadata(r, o, n),
    deleteBlob: (r, o, n) => blobs.deleteBlob(r, o, n),
    setBlobTier: (r, o, n) => blobs.setBlobTier(r, o, n),
    undeleteBlob: (r, n) => blobs.undeleteBlob(r, n),
    snapshotBlob: (r, o, n) => blobs.snapshotBlob(r, o, n),
    restoreContainer: (r, d, n) => containers.restoreContainer(r, d, n),
    purgeExpired: (n) => purgeExpired(deps.meta, deps.pages, n),
    createPageBlob: (r, q, n) => blobs.createPageBlob(r, q, n),
    createAppendBlob: (r, q, n) => blobs.createAppendBlob(r, q, n),
    appendBlock: (r, b, o, n) => blobs.appendBlobs.appendBlock(r, b, o, n),
    sealAppendBlob: (r, o, n) => blobs.appendBlobs.seal(r, o, n),
    putPages: (r, range, b, o, n) => blobs.pageBlobs.putPages(r, range, b, o, n),
    clearPages: (r, range, o, n) => blobs.pageBlobs.clearPages(r, range, o, n),
    putPagesFromUrl: (r, range, s, o, n) => blobs.putPagesFromUrl(r, range, s, o, n),
    resizePageBlob: (r, size, o, n) => blobs.pageBlobs.resize(r, size, o, n),
    updateSequenceNumber: (r, a, o, n) => blobs.pageBlobs.updateSequenceNumber(r, a, o, n),
    getPageRanges: (r, o, n) => blobs.getPageRanges(r, o, n),
    copyBlob: (r, s, o, n) => blobs.copyBlob(r, s, o, n),
    putBlobFromUrl: (r, s, o, n) => blobs.putBlobFromUrl(r, s, o, n),
    abortCopy: (r, id, o, n) => blobs.abortCopy(r, id, o, n),
    incrementalCopy: (r, s, o, n) => blobs.incrementalCopy(r, s, o, n),
    leaseBlob: (r, a, c, n) => blobs.leaseBlob(r, a, c, n),
    // ---- lifecycle management and usage ----
    getManagementPolicy: (a) => lifecycle.getPolicy(a),
    setManagementPolicy: (a, p, n) => lifecycle.setPolicy(a, p, n),
    deleteManagementPolicy: (a) => lifecycle.deletePolicy(a),
    runLifecycleDue: (n) => lifecycle.runDue(n),
    runLifecycleNow: (a, n) => lifecycle.runNow(a, n),
    lastLifecycleRun: (a) => lifecycle.lastRun(a),
    usageReport: (a, n, o) => usageReport({ meta: deps.meta, pages: deps.pages }, a, n, o),
  };
}
