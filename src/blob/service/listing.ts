// List Blobs, flat and hierarchical, with include=snapshots,versions,deleted,deletedwithversions,metadata.
// https://learn.microsoft.com/rest/api/storageservices/list-blobs
//
// A page costs its own rows:
//   - without history includes, the listing walks the (tag = CURRENT, name) index, so snapshots,
//     versions and soft-deleted blobs are never read, however many a blob has;
//   - with them, it walks the (name, sub) key from the marker and filters each row;
//   - in hierarchical mode a whole virtual directory is skipped with one seek past
//     "prefix + delimiter + U+10FFFF" instead of reading every blob under it.
// Markers are (name, sub) positions, so paging stays exact across versions and snapshots.
//
// include=deletedwithversions: a name with versions but no live current blob gets one extra
// entry (HasVersionsOnly) right after its newest version, described by that version.
import type { EntryRecord, MetaReader } from '../../engine/meta/meta-store.js';
import { findContainer, encodeMarker, decodeMarker } from './containers.js';
import { blobAttrs, blobView, entryKind, CURRENT_SUB, TAG_CURRENT, VERSION_PREFIX } from './records.js';
import type { BlobView, ContainerRef, ListBlobsRequest, ListBlobsResult, ListInclude } from './model.js';

const PAST_EVERYTHING = '\u{10FFFF}';
const BATCH = 1000;
/** Marker position of the HasVersionsOnly entry: just after the newest version's sub. */
const ROOT_SUFFIX = '\u0001';

interface Cursor {
  name: string;
  sub: string;
}

interface Page {
  blobs: BlobView[];
  prefixes: string[];
  cursor: Cursor | undefined;
}

export async function listBlobs(tx: MetaReader, ref: ContainerRef, request: ListBlobsRequest, now: number): Promise<ListBlobsResult> {
  const bucket = await findContainer(tx, ref);
  const include = request.include;
  const history = Boolean(include.snapshots || include.versions || include.deleted || include.deletedWithVersions);
  const prefix = request.prefix ?? '';
  const roots = new RootFinder(tx, bucket.bucketId);
  const page: Page = { blobs: [], prefixes: [], cursor: request.marker ? parseMarker(request.marker) : undefined };
  const full = () => page.blobs.length + page.prefixes.length >= request.maxResults;
  if (page.cursor?.sub.endsWith(ROOT_SUFFIX) === false && include.deletedWithVersions) {
    await emitRootIfNewest(page, roots, page.cursor, now);
  }
  while (!full()) {
    const rows = await tx.listEntries(bucket.bucketId, { prefix, tag: history ? undefined : TAG_CURRENT, limit: BATCH, after: page.cursor });
    if (rows.length === 0) return finish(page, false);
    for (const row of rows) {
      const cut = request.delimiter ? row.name.indexOf(request.delimiter, prefix.length) : -1;
      if (request.delimiter && cut >= 0) {
        const dir = row.name.slice(0, cut + request.delimiter.length);
        page.prefixes.push(dir);
        page.cursor = { name: dir + PAST_EVERYTHING, sub: '' };
        break; // re-seek past the whole virtual directory
      }
      page.cursor = { name: row.name, sub: row.sub };
      if (!history || visible(row, include)) page.blobs.push(blobView(row, now));
      if (include.deletedWithVersions && entryKind(row) === 'version' && !full()) await emitRootIfNewest(page, roots, page.cursor, now);
      if (full()) break;
    }
  }
  const more = await tx.listEntries(bucket.bucketId, { prefix, tag: history ? undefined : TAG_CURRENT, limit: 1, after: page.cursor });
  return finish(page, more.length > 0);
}

function finish(page: Page, more: boolean): ListBlobsResult {
  const nextMarker = more && page.cursor ? encodeMarker(`${page.cursor.name}\n${page.cursor.sub}`) : undefined;
  return { blobs: page.blobs, prefixes: page.prefixes, nextMarker };
}

function parseMarker(marker: string): Cursor {
  const text = decodeMarker(marker);
  const cut = text.lastIndexOf('\n');
  return cut < 0 ? { name: text, sub: CURRENT_SUB } : { name: text.slice(0, cut), sub: text.slice(cut + 1) };
}

function visible(row: EntryRecord, include: ListInclude): boolean {
  const deleted = blobAttrs(row.attrs).deleted !== undefined;
  switch (entryKind(row)) {
    case 'current':
      return true;
    case 'deleted-base':
      return include.deleted === true;
    case 'version':
      return include.versions === true && (!deleted || include.deleted === true);
    case 'snapshot':
      return include.snapshots === true && (!deleted || include.deleted === true);
  }
}

async function emitRootIfNewest(page: Page, roots: RootFinder, at: Cursor, now: number): Promise<void> {
  if (!at.sub.startsWith(VERSION_PREFIX)) return;
  const newest = await roots.versionsOnlyRoot(at.name);
  if (!newest || newest.sub !== at.sub) return;
  page.blobs.push({ ...blobView(newest, now), isCurrentVersion: undefined, versionId: undefined, hasVersionsOnly: true });
  page.cursor = { name: at.name, sub: at.sub + ROOT_SUFFIX };
}

/** For one name at a time: its newest live version, if the name has no live current blob. */
class RootFinder {
  #name: string | undefined;
  #root: EntryRecord | undefined;
  constructor(private readonly tx: MetaReader, private readonly bucketId: number) {}

  async versionsOnlyRoot(name: string): Promise<EntryRecord | undefined> {
    if (this.#name === name) return this.#root;
    this.#name = name;
    const current = await this.tx.getEntry(this.bucketId, name, CURRENT_SUB);
    const versions = current && entryKind(current) === 'current' ? [] : await this.tx.listEntriesOfName(this.bucketId, name, { subPrefix: VERSION_PREFIX, descending: true, limit: 64 });
    this.#root = versions.find((v) => !blobAttrs(v.attrs).deleted);
    return this.#root;
  }
}
