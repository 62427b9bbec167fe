// List Blobs, flat and hierarchical: https://learn.microsoft.com/rest/api/storageservices/list-blobs
// A page costs its own rows: the engine seeks to the marker, and in hierarchical mode a whole
// virtual directory is skipped with one seek past "prefix + delimiter + U+10FFFF" instead of
// reading every blob under it.
import type { MetaReader } from '../../engine/meta/meta-store.js';
import { findContainer, encodeMarker, decodeMarker } from './containers.js';
import { blobView, CURRENT_SUB, TAG_CURRENT } from './records.js';
import type { BlobView, ContainerRef, ListBlobsRequest, ListBlobsResult } from './model.js';

const PAST_EVERYTHING = '\u{10FFFF}';
const BATCH = 256;

export async function listBlobs(tx: MetaReader, ref: ContainerRef, request: ListBlobsRequest, now: number): Promise<ListBlobsResult> {
  const bucket = await findContainer(tx, ref);
  const prefix = request.prefix ?? '';
  const delimiter = request.delimiter || undefined;
  const blobs: BlobView[] = [];
  const prefixes: string[] = [];
  let afterName = request.marker ? decodeMarker(request.marker) : undefined;
  const full = () => blobs.length + prefixes.length >= request.maxResults;
  while (!full()) {
    const rows = await tx.listEntries(bucket.bucketId, {
      prefix, tag: TAG_CURRENT, limit: BATCH, after: afterName === undefined ? undefined : { name: afterName, sub: CURRENT_SUB },
    });
    if (rows.length === 0) return { blobs, prefixes, nextMarker: undefined };
    for (const row of rows) {
      const cut = delimiter ? row.name.indexOf(delimiter, prefix.length) : -1;
      if (delimiter && cut >= 0) {
        const dir = row.name.slice(0, cut + delimiter.length);
        prefixes.push(dir);
        afterName = dir + PAST_EVERYTHING;
        break; // re-seek past the whole virtual directory
      }
      blobs.push(blobView(row, now));
      afterName = row.name;
      if (full()) break;
    }
  }
  const more = await tx.listEntries(bucket.bucketId, {
    prefix, tag: TAG_CURRENT, limit: 1, after: afterName === undefined ? undefined : { name: afterName, sub: CURRENT_SUB },
  });
  return { blobs, prefixes, nextMarker: more.length > 0 && afterName !== undefined ? encodeMarker(afterName) : undefined };
}
