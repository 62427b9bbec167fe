// Name and metadata rules: https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata
import { fail } from '../errors.js';
import type { Metadata } from './model.js';

const CONTAINER_NAME = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;
const METADATA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const METADATA_BYTES_MAX = 8 * 1024;

export function checkContainerName(name: string): void {
  if (name === '$root' || name === '$web' || name === '$logs') return;
  if (!CONTAINER_NAME.test(name)) fail('InvalidResourceName');
}

export function checkBlobName(name: string): void {
  if (name.length < 1 || name.length > 1024) fail('InvalidResourceName');
}

export function checkMetadata(metadata: Metadata): void {
  let bytes = 0;
  for (const [key, value] of Object.entries(metadata)) {
    if (key === '') fail('EmptyMetadataKey');
    if (!METADATA_NAME.test(key)) fail('InvalidMetadata');
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (bytes > METADATA_BYTES_MAX) fail('MetadataTooLarge');
}
