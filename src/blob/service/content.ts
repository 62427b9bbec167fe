// Turning blob content (an engine content: ordered parts, each a block of chunks) into bytes,
// and bodies into blocks. Shared by Put Blob, Put Block, Get Blob and the copy operations.
import type { BlockStore, ChunkRef, WrittenData } from '../../engine/blocks/block-store.js';
import { LengthMismatchError } from '../../engine/blocks/extent-block-store.js';
import type { MetaReader } from '../../engine/meta/meta-store.js';
import { fail } from '../errors.js';
import type { BodySource } from './model.js';

/** All chunk refs of a content, in byte order. */
export async function contentChunks(tx: MetaReader, contentId: number | null): Promise<ChunkRef[]> {
  if (contentId === null) return [];
  const parts = await tx.getContent(contentId);
  const chunks: ChunkRef[] = [];
  for (const part of parts) chunks.push(...(await tx.getChunks(part.blockId)));
  return chunks;
}

/**
 * Writes a request body to the block store and makes it durable. The caller must call
 * `unpin()` once the metadata referencing the chunks has committed (or failed).
 */
export async function storeBody(blocks: BlockStore, body: BodySource, sizeMaxBytes: number): Promise<WrittenData> {
  if (body.lengthBytes !== undefined && body.lengthBytes > sizeMaxBytes) fail('RequestBodyTooLarge');
  let written: WrittenData;
  try {
    written = await blocks.write(body.stream, body.lengthBytes);
  } catch (error) {
    if (error instanceof LengthMismatchError) fail('InvalidInput', { reason: 'body length does not match Content-Length' });
    throw error;
  }
  try {
    if (body.md5 !== undefined && body.md5 !== written.md5) fail('Md5Mismatch', { UserSpecifiedMd5: body.md5, ServerCalculatedMd5: written.md5 });
    await blocks.sync();
    return written;
  } catch (error) {
    written.unpin();
    throw error;
  }
}
