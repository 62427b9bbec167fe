// The embedded metadata schema (SQLite). Reference counting lives in triggers so that every
// statement that adds or drops a reference keeps the counts exact inside its transaction:
//
//   entries ──content_id──▶ contents ──content_parts──▶ blocks ──▶ chunks ──▶ extents.live_bytes
//                                                         │        (or inline bytes)
//                                                         └─ blocks.data: a block of one inline piece
//                                                            (schema 3) keeps it here, with no chunk row
//   staged ───────────────────────────────block_id────▶ blocks
//
// A count reaching zero drops the row, which cascades down to `chunks`; the chunk triggers keep
// `extents.live_bytes`, which the garbage collector compares with extent file sizes.
// Keys are ordered (WITHOUT ROWID primary keys) so listings seek instead of scanning.
// SCHEMA_VERSION is stored in user_version; an upgrade step goes in migrate() when it changes.

export const SCHEMA_VERSION = 3;

/**
 * Upgrade steps: MIGRATIONS[v] turns a version-v database into version v + 1, inside the
 * transaction that also runs SCHEMA_SQL (which then recreates the indexes and triggers a step
 * dropped). test/fixtures/meta-v1 is a version-1 data directory that test/schema-upgrade reads.
 */
export const MIGRATIONS: Readonly<Record<number, string>> = {
  // 1 → 2: chunks becomes a rowid table (see its comment). Dropping the table drops its index and
  // triggers; block_del refers to it, so it is dropped first and recreated by SCHEMA_SQL.
  1: `
    DROP TRIGGER IF EXISTS block_del;
    CREATE TABLE chunks_v2 (
      block_id INTEGER NOT NULL, idx INTEGER NOT NULL, extent_id INTEGER,
      offset INTEGER NOT NULL, length INTEGER NOT NULL, data BLOB,
      PRIMARY KEY (block_id, idx));
    INSERT INTO chunks_v2 (block_id, idx, extent_id, offset, length, data)
      SELECT block_id, idx, extent_id, offset, length, data FROM chunks ORDER BY block_id, idx;
    DROP TABLE chunks;
    ALTER TABLE chunks_v2 RENAME TO chunks;`,
  // 2 → 3: a block that is one inline piece keeps its bytes in blocks.data (see blocks), and the
  // chunk index by extent leaves inline chunks out. Existing inline chunk rows stay valid: readers
  // take a block's bytes from blocks.data when set, else from its chunks.
  2: `
    ALTER TABLE blocks ADD COLUMN data BLOB;
    DROP INDEX IF EXISTS chunks_extent;`,
};

// ---- pages: the page-range engine (src/engine/pages/page-engine.ts draws the structure) ----
//
//   page_lineages  one per page object: head_seq (last mutation), size, live (0 once the object
//                  is dropped but frozen views of it remain)
//   page_views     frozen views: (lineage, seq) plus the size at that point
//   page_ranges    versioned range map: [start, end) of a lineage holds bytes block_offset.. of
//                  block_id, visible to seq in [born, died); died = PAGE_SEQ_LIVE (meta-store.ts)
//                  while current
//   page_changes   change log: what each seq touched, kept only while a view may diff across it
//
// A page range row counts as a reference on its block (triggers below), so bytes stay live
// exactly as long as some row (current or pinned by a view) points at them.
// Additive: CREATE ... IF NOT EXISTS, so databases made before pages existed gain the tables.

const PAGES_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS page_lineages (
  lineage_id INTEGER PRIMARY KEY, head_seq INTEGER NOT NULL, size_bytes INTEGER NOT NULL, live INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS page_views (
  view_id INTEGER PRIMARY KEY, lineage_id INTEGER NOT NULL, seq INTEGER NOT NULL, size_bytes INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS page_views_seq ON page_views (lineage_id, seq);
CREATE TABLE IF NOT EXISTS page_ranges (
  row_id INTEGER PRIMARY KEY, lineage_id INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
  born INTEGER NOT NULL, died INTEGER NOT NULL, block_id INTEGER NOT NULL, block_offset INTEGER NOT NULL);
-- Current rows by offset (live reads, writes) and rows by death (view drop compaction).
CREATE INDEX IF NOT EXISTS page_ranges_live ON page_ranges (lineage_id, died, start);
-- Every version by offset (reads of frozen views), covering the visibility filter.
CREATE INDEX IF NOT EXISTS page_ranges_at ON page_ranges (lineage_id, start, born, died, end);
CREATE TABLE IF NOT EXISTS page_changes (
  lineage_id INTEGER NOT NULL, seq INTEGER NOT NULL, cleared INTEGER NOT NULL,
  start INTEGER NOT NULL, end INTEGER NOT NULL,
  PRIMARY KEY (lineage_id, seq)) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS page_range_ins AFTER INSERT ON page_ranges BEGIN
  UPDATE blocks SET refs = refs + 1 WHERE block_id = NEW.block_id; END;
CREATE TRIGGER IF NOT EXISTS page_range_del AFTER DELETE ON page_ranges BEGIN
  UPDATE blocks SET refs = refs - 1 WHERE block_id = OLD.block_id; END;
`;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS settings (
  scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (scope, key)) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS buckets (
  bucket_id INTEGER PRIMARY KEY, scope TEXT NOT NULL, name TEXT NOT NULL,
  created_ms INTEGER NOT NULL, deleted_ms INTEGER, expires_ms INTEGER, attrs TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS buckets_expiry ON buckets (expires_ms) WHERE expires_ms IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS buckets_live ON buckets (scope, name) WHERE deleted_ms IS NULL;
CREATE INDEX IF NOT EXISTS buckets_deleted ON buckets (scope, name, bucket_id) WHERE deleted_ms IS NOT NULL;

CREATE TABLE IF NOT EXISTS entries (
  bucket_id INTEGER NOT NULL, name TEXT NOT NULL, sub TEXT NOT NULL, tag INTEGER NOT NULL,
  content_id INTEGER, size_bytes INTEGER NOT NULL, expires_ms INTEGER, attrs TEXT NOT NULL,
  page_object INTEGER, page_view INTEGER,  -- a page object (live) or frozen page view the entry owns
  PRIMARY KEY (bucket_id, name, sub)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_tag ON entries (bucket_id, tag, name, sub);
CREATE INDEX IF NOT EXISTS entries_expiry ON entries (expires_ms) WHERE expires_ms IS NOT NULL;

CREATE TABLE IF NOT EXISTS contents (content_id INTEGER PRIMARY KEY, refs INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS content_parts (
  content_id INTEGER NOT NULL, idx INTEGER NOT NULL, label TEXT NOT NULL, block_id INTEGER NOT NULL,
  PRIMARY KEY (content_id, idx)) WITHOUT ROWID;

-- data (schema 3): the bytes of a block made of one inline piece, the shape of every small Put Blob
-- and Put Block. A chunk row for them cost a second b-tree insert, and each batch commit wrote the
-- chunk table's leaf and both its index leaves to the WAL again: measured on 4 KiB puts in batches
-- of 5, 3.4 instead of 4.1 WAL frames and ~35 instead of ~40 µs of SQLite time per put.
CREATE TABLE IF NOT EXISTS blocks (
  block_id INTEGER PRIMARY KEY, size_bytes INTEGER NOT NULL, refs INTEGER NOT NULL DEFAULT 0, data BLOB);
-- A chunk is either a range of an extent file, or (extent_id NULL) small bytes kept inline.
-- A rowid table on purpose (schema 2): inline bytes make rows up to 64 KiB, and a WITHOUT ROWID
-- b-tree keeps whole rows in its interior cells and loads a row's overflow pages to compare keys,
-- which made a 4 KiB chunk lookup ~2.5x and an insert ~2x slower than this layout.
CREATE TABLE IF NOT EXISTS chunks (
  block_id INTEGER NOT NULL, idx INTEGER NOT NULL, extent_id INTEGER,
  offset INTEGER NOT NULL, length INTEGER NOT NULL, data BLOB,
  PRIMARY KEY (block_id, idx));
-- Only extent chunks: garbage collection asks by extent; inline chunks (extent_id NULL) never.
CREATE INDEX IF NOT EXISTS chunks_extent ON chunks (extent_id) WHERE extent_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS extents (extent_id INTEGER PRIMARY KEY, live_bytes INTEGER NOT NULL DEFAULT 0);

CREATE TABLE IF NOT EXISTS staged (
  bucket_id INTEGER NOT NULL, name TEXT NOT NULL, label TEXT NOT NULL,
  block_id INTEGER NOT NULL, staged_ms INTEGER NOT NULL,
  PRIMARY KEY (bucket_id, name, label)) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS entry_ins AFTER INSERT ON entries WHEN NEW.content_id IS NOT NULL BEGIN
  UPDATE contents SET refs = refs + 1 WHERE content_id = NEW.content_id; END;
CREATE TRIGGER IF NOT EXISTS entry_del AFTER DELETE ON entries WHEN OLD.content_id IS NOT NULL BEGIN
  UPDATE contents SET refs = refs - 1 WHERE content_id = OLD.content_id; END;
CREATE TRIGGER IF NOT EXISTS entry_upd AFTER UPDATE OF content_id ON entries
  WHEN OLD.content_id IS NOT NEW.content_id BEGIN
  UPDATE contents SET refs = refs + 1 WHERE content_id = NEW.content_id;
  UPDATE contents SET refs = refs - 1 WHERE content_id = OLD.content_id; END;
-- Page objects and views are owned by exactly one entry. When an entry stops owning one (deleted,
-- or replaced by an upsert), the id is queued here; PageStore.releasePending drops them, so every
-- deletion path (including container drops and purges) releases page data without knowing of it.
CREATE TABLE IF NOT EXISTS page_releases (release_id INTEGER PRIMARY KEY, object_id INTEGER, view_id INTEGER);
CREATE TRIGGER IF NOT EXISTS entry_page_del AFTER DELETE ON entries
  WHEN OLD.page_object IS NOT NULL OR OLD.page_view IS NOT NULL BEGIN
  INSERT INTO page_releases (object_id, view_id) VALUES (OLD.page_object, OLD.page_view); END;
CREATE TRIGGER IF NOT EXISTS entry_page_upd AFTER UPDATE OF page_object, page_view ON entries
  WHEN (OLD.page_object IS NOT NULL AND OLD.page_object IS NOT NEW.page_object)
    OR (OLD.page_view IS NOT NULL AND OLD.page_view IS NOT NEW.page_view) BEGIN
  INSERT INTO page_releases (object_id, view_id) VALUES (
    CASE WHEN OLD.page_object IS NOT NEW.page_object THEN OLD.page_object END,
    CASE WHEN OLD.page_view IS NOT NEW.page_view THEN OLD.page_view END); END;

CREATE TRIGGER IF NOT EXISTS content_zero AFTER UPDATE OF refs ON contents WHEN NEW.refs <= 0 BEGIN
  DELETE FROM contents WHERE content_id = NEW.content_id; END;
CREATE TRIGGER IF NOT EXISTS content_del AFTER DELETE ON contents BEGIN
  DELETE FROM content_parts WHERE content_id = OLD.content_id; END;

CREATE TRIGGER IF NOT EXISTS part_ins AFTER INSERT ON content_parts BEGIN
  UPDATE blocks SET refs = refs + 1 WHERE block_id = NEW.block_id; END;
CREATE TRIGGER IF NOT EXISTS part_del AFTER DELETE ON content_parts BEGIN
  UPDATE blocks SET refs = refs - 1 WHERE block_id = OLD.block_id; END;
CREATE TRIGGER IF NOT EXISTS staged_ins AFTER INSERT ON staged BEGIN
  UPDATE blocks SET refs = refs + 1 WHERE block_id = NEW.block_id; END;
CREATE TRIGGER IF NOT EXISTS staged_del AFTER DELETE ON staged BEGIN
  UPDATE blocks SET refs = refs - 1 WHERE block_id = OLD.block_id; END;
CREATE TRIGGER IF NOT EXISTS staged_upd AFTER UPDATE OF block_id ON staged
  WHEN OLD.block_id IS NOT NEW.block_id BEGIN
  UPDATE blocks SET refs = refs + 1 WHERE block_id = NEW.block_id;
  UPDATE blocks SET refs = refs - 1 WHERE block_id = OLD.block_id; END;
CREATE TRIGGER IF NOT EXISTS block_zero AFTER UPDATE OF refs ON blocks WHEN NEW.refs <= 0 BEGIN
  DELETE FROM blocks WHERE block_id = NEW.block_id; END;
CREATE TRIGGER IF NOT EXISTS block_del AFTER DELETE ON blocks BEGIN
  DELETE FROM chunks WHERE block_id = OLD.block_id; END;

CREATE TRIGGER IF NOT EXISTS chunk_ins AFTER INSERT ON chunks WHEN NEW.extent_id IS NOT NULL BEGIN
  INSERT INTO extents (extent_id, live_bytes) VALUES (NEW.extent_id, NEW.length)
    ON CONFLICT (extent_id) DO UPDATE SET live_bytes = live_bytes + NEW.length; END;
CREATE TRIGGER IF NOT EXISTS chunk_del AFTER DELETE ON chunks WHEN OLD.extent_id IS NOT NULL BEGIN
  UPDATE extents SET live_bytes = live_bytes - OLD.length WHERE extent_id = OLD.extent_id; END;
CREATE TRIGGER IF NOT EXISTS chunk_move AFTER UPDATE OF extent_id, offset ON chunks BEGIN
  UPDATE extents SET live_bytes = live_bytes - OLD.length WHERE extent_id = OLD.extent_id;
  INSERT INTO extents (extent_id, live_bytes) VALUES (NEW.extent_id, NEW.length)
    ON CONFLICT (extent_id) DO UPDATE SET live_bytes = live_bytes + NEW.length; END;
${PAGES_SCHEMA_SQL}`;

/**
 * Rows that can be left unreferenced by a crash between creating a block and referencing it
 * cannot exist (both happen in one transaction), but a content or block created and never
 * referenced by a buggy caller would leak; startup sweeps them.
 */
export const SWEEP_SQL = `
DELETE FROM contents WHERE refs <= 0;
DELETE FROM blocks WHERE refs <= 0;
DELETE FROM extents WHERE live_bytes <= 0 AND extent_id NOT IN (SELECT extent_id FROM chunks WHERE extent_id IS NOT NULL);
`;
