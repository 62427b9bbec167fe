// What deleting a storage account does to its data: every container (live or soft-deleted) is dropped
// with all its blobs, inside the same transaction that removes the account, and the account's blob
// service settings are reset. The bytes are reclaimed later by garbage collection (reference counts
// reach zero here). A new account with the same name therefore starts empty, with default settings,
// exactly like a fresh Azure account.
//
// The setting keys below are the ones the blob service stores per account (src/blob/service/containers.ts);
// the settings API has no delete, so they are overwritten with null, which the blob service reads as
// "never set".
import type { MetaWriter } from '../engine/meta/meta-store.js';

const ACCOUNT_SETTING_KEYS = ['blobServiceProperties', 'dataProtection'] as const;
const DROP_BATCH = 500;

export async function dropAccountData(tx: MetaWriter, account: string): Promise<void> {
  // `deleted: true` lists soft-deleted buckets as well as live ones.
  for (;;) {
    const buckets = await tx.listBuckets(account, { deleted: true, limit: DROP_BATCH });
    for (const bucket of buckets) await tx.dropBucket(bucket.bucketId);
    if (buckets.length < DROP_BATCH) break;
  }
  for (const key of ACCOUNT_SETTING_KEYS) await tx.putSetting(account, key, null);
}
