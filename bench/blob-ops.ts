// The Blob REST operations the benchmark sends, one function each, over SignedBlobClient.
//
// Each function states the status Azure documents for success; anything else throws, so a server that
// answers wrongly fails the run instead of producing a fast-looking number.
// Pages followed: Create Container, Put Blob, Get Blob, Put Block, Put Block List, List Blobs
// (https://learn.microsoft.com/rest/api/storageservices/blob-service-rest-api).
//
// Names passed in must be URL-safe already (the workloads generate [a-z0-9-] names), so path = name.

import type { BodySink, SignedBlobClient } from './client.js';

const COUNT: BodySink = { kind: 'count' };

export async function createContainer(client: SignedBlobClient, container: string): Promise<void> {
  await client.send({ method: 'PUT', path: `/${container}`, query: [['restype', 'container']] }, 201, COUNT);
}

export async function putBlockBlob(client: SignedBlobClient, container: string, blob: string, body: Buffer): Promise<void> {
  const headers = { 'x-ms-blob-type': 'BlockBlob', 'content-type': 'application/octet-stream' };
  await client.send({ method: 'PUT', path: `/${container}/${blob}`, headers, body }, 201, COUNT);
}

/** Reads a whole blob, handing chunks to `sink` as they arrive; returns the body length. */
export async function getBlob(client: SignedBlobClient, container: string, blob: string, sink: BodySink = COUNT): Promise<number> {
  const response = await client.send({ method: 'GET', path: `/${container}/${blob}` }, 200, sink);
  return response.bodyBytes;
}

export async function putBlock(client: SignedBlobClient, container: string, blob: string, blockId: string, body: Buffer): Promise<void> {
  const query = [['comp', 'block'], ['blockid', blockId]] as const;
  await client.send({ method: 'PUT', path: `/${container}/${blob}`, query, body }, 201, COUNT);
}

export async function putBlockList(client: SignedBlobClient, container: string, blob: string, blockIds: readonly string[]): Promise<void> {
  const latest = blockIds.map((id) => `<Latest>${id}</Latest>`).join('');
  const body = Buffer.from(`<?xml version="1.0" encoding="utf-8"?><BlockList>${latest}</BlockList>`, 'utf8');
  const headers = { 'content-type': 'application/xml', 'x-ms-blob-content-type': 'application/octet-stream' };
  await client.send({ method: 'PUT', path: `/${container}/${blob}`, query: [['comp', 'blocklist']], headers, body }, 201, COUNT);
}

export interface ListPage {
  blobCount: number;
  /** Undefined on the last page. */
  nextMarker: string | undefined;
}

/**
 * One List Blobs page. The body is scanned, not parsed: counting `<Blob>` elements and reading `<NextMarker>`
 * is all the benchmark needs, and a full XML parse of 5000 entries would bill the client's CPU to the server.
 */
export async function listBlobsPage(client: SignedBlobClient, container: string, pageSize: number, marker: string | undefined): Promise<ListPage> {
  const query: Array<readonly [string, string]> = [['restype', 'container'], ['comp', 'list'], ['maxresults', String(pageSize)]];
  if (marker !== undefined) query.push(['marker', marker]);
  const response = await client.send({ method: 'GET', path: `/${container}`, query }, 200, { kind: 'text' });
  const xml = response.text ?? '';
  return { blobCount: countOccurrences(xml, '<Blob>'), nextMarker: nextMarkerOf(xml) };
}

function countOccurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count += 1;
  return count;
}

function nextMarkerOf(xml: string): string | undefined {
  const match = /<NextMarker>([^<]*)<\/NextMarker>/.exec(xml);
  const marker = match?.[1];
  return marker === undefined || marker === '' ? undefined : unescapeXml(marker);
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[entity] ?? '';
  });
}
