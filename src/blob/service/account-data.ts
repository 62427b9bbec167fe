// What deleting a storage account does to its blob data: every container (live or soft-deleted) is
// dropped with all its blobs, inside the transaction that removes the account, and everything the blob
// service keeps per account is forgotten: service properties, data-protection switches, the lifecycle
// policy and its last-run report. The bytes are reclaimed later by garbage collection (reference counts
// reach zero here). A new account with the same name therefore starts empty, with default settings,
// exactly like a fresh Azure account. Each setting is reset by the module that owns it.
import type { MetaWriter } from '../../engine/meta/meta-store.js';
import { resetAccountSettings } from './containers.js';
import { forgetLifecycle } from './lifecycle/lifecycle.js';

const DROP_BATCH = 500;

export async function dropAccountData(tx: MetaWriter, account: string): Promise<void> {
  // `deleted: true` lists soft-deleted buckets as well as live ones.
  for (;;) {
    const buckets = await tx.listBuckets(account, { deleted: true, limit: DROP_BATCH });
    for (const bucket of buckets) await tx.dropBucket(bucket.bucketId);
    if (buckets.length < DROP_BATCH) break;
  }
  await resetAccountSettings(tx, account);
  await forgetLifecycle(tx, account);
}
