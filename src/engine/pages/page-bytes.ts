// Bytes of a page read, in memory: for small reads and tests. Large reads should stream the
// spans instead (zeros as a repeated buffer, data through BlockStore.read).
import { isInline } from '../blocks/block-store.js';
import type { BlockStore } from '../blocks/block-store.js';
import type { PageSpan } from './page-store.js';

export async function spansToBuffer(blocks: BlockStore, spans: readonly PageSpan[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const span of spans) {
    if (span.kind === 'zeros') {
      parts.push(Buffer.alloc(span.end - span.start));
      continue;
    }
    for (const piece of span.pieces) parts.push(isInline(piece) ? piece.inline : await blocks.readChunk(piece));
  }
  return Buffer.concat(parts);
}
