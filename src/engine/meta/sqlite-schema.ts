// The embedded metadata schema (SQLite). Reference counting lives in triggers so that every
// statement that adds or drops a reference keeps the counts exact inside its transaction:
//
//   entries ──content_id──▶ contents ──content_parts──▶ blocks ──▶ chunks ──▶ extents.live_bytes
//                                                                  (or inline bytes)
//   staged ───────────────────────────────block_id────▶ blocks
//
// A count reaching zero drops the row, which cascades down to `chunks`; the chunk triggers keep
// `extents.live_bytes`, which the garbage collector compares with extent file sizes.
// Keys are ordered (WITHOUT ROWID primary keys) so listings seek instead of scanning.
// SCHEMA_VERSION is stored in user_version; an upgrade step goes in migrate() when it changes.

export const SCHEMA_VERSION = 1;

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
  PRIMARY KEY (bucket_id, name, sub)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_tag ON entries (bucket_id, tag, name, sub);
CREATE INDEX IF NOT EXISTS entries_expiry ON entries (expires_ms) WHERE expires_ms IS NOT NULL;

CREATE TABLE IF NOT EXISTS contents (content_id INTEGER PRIMARY KEY, refs INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS content_parts (
  content_id INTEGER NOT NULL, idx INTEGER NOT NULL, label TEXT NOT NULL, block_id INTEGER NOT NULL,
  PRIMARY KEY (content_id, idx)) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS blocks (block_id INTEGER PRIMARY KEY, size_bytes INTEGER NOT NULL, refs INTEGER NOT NULL DEFAULT 0);
-- A chunk is either a range of an extent file, or (extent_id NULL) small bytes kept inline.
CREATE TABLE IF NOT EXISTS chunks (
  block_id INTEGER NOT NULL, idx INTEGER NOT NULL, extent_id INTEGER,
  offset INTEGER NOT NULL, length INTEGER NOT NULL, data BLOB,
  PRIMARY KEY (block_id, idx)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_extent ON chunks (extent_id);
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
`;

/**
 * Rows that can be left unreferenced by a crash between creating a block and referencing it
 * cannot exist (both happen in one transaction), but a content or block created and never
 * referenced by a buggy caller would leak; startup sweeps them.
 */
export const SWEEP_SQL = `
DELETE FROM contents WHERE refs <= 0;
DELETE FROM blocks WHERE refs <= 0;
DELETE FROM extents WHERE live_bytes <= 0 AND extent_id NOT IN (SELECT extent_id FROM chunks);
`;
