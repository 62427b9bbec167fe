// Access tiers: https://learn.microsoft.com/azure/storage/blobs/access-tiers-overview and
// https://learn.microsoft.com/azure/storage/blobs/archive-rehydrate-overview (spec/blob-rest.md §14).
//
//   explicit tier   set by Set Blob Tier or x-ms-access-tier at write time; billing treats such
//                   objects differently, so "was it set explicitly" is kept (attrs.tier present)
//   inferred tier   no tier ever set: the account default (Hot), reported AccessTierInferred=true
//
//   online ──Set Tier Archive──▶ Archive ──Set Tier Hot|Cool|Cold──▶ rehydrating ──(time)──▶ online
//                                  (200)                 (202)            │ reads still 409
//                                                                          └ raise Standard→High: allowed
// Rehydration takes a configurable time on the injected clock (Azure: up to 15 h Standard, < 1 h
// High). It completes lazily: the effective tier is computed from the clock whenever the blob is
// read, so nothing needs a timer and a test moves the clock instead of sleeping.
import { fail } from '../errors.js';
import type { AccessTier, RehydratePriority } from './model.js';
import type { BlobAttrs } from './records.js';

export const DEFAULT_TIER: AccessTier = 'Hot';

export interface RehydrationTimes {
  standardMs: number;
  highMs: number;
}

export const AZURE_REHYDRATION: RehydrationTimes = { standardMs: 15 * 3_600_000, highMs: 3_600_000 };

export interface TierState {
  tier: AccessTier;
  inferred: boolean;
  changedMs?: number;
  rehydrating?: { to: AccessTier; priority: RehydratePriority };
}

/** The tier a blob is in at `now`, with a finished rehydration applied. */
export function tierOf(attrs: BlobAttrs, now: number): TierState {
  const r = attrs.rehydrate;
  if (r && r.completesMs <= now) return { tier: r.to, inferred: false, changedMs: r.completesMs };
  if (attrs.tier === undefined) return { tier: DEFAULT_TIER, inferred: true };
  return { tier: attrs.tier, inferred: false, changedMs: attrs.tierChangedMs, rehydrating: r ? { to: r.to, priority: r.priority } : undefined };
}

export function isArchived(attrs: BlobAttrs, now: number): boolean {
  return attrs.blobType === 'BlockBlob' && tierOf(attrs, now).tier === 'Archive';
}

/** Reads of data and writes of metadata are refused on archived blobs (409 BlobArchived). */
export function checkOnline(attrs: BlobAttrs, now: number): void {
  if (isArchived(attrs, now)) fail('BlobArchived');
}

/** Attributes with a finished rehydration folded in (call before persisting a changed blob). */
export function settleTier(attrs: BlobAttrs, now: number): BlobAttrs {
  const r = attrs.rehydrate;
  if (!r || r.completesMs > now) return attrs;
  return { ...attrs, tier: r.to, tierChangedMs: r.completesMs, rehydrate: undefined };
}

export interface TierChange {
  attrs: BlobAttrs;
  /** 202 when a rehydration started (or was sped up), 200 when the change is immediate. */
  accepted: boolean;
}

/**
 * Set Blob Tier on one object. `inPlace` is false for snapshots and previous versions, which
 * Azure cannot rehydrate in place (copy them to a new blob instead).
 */
export function changeTier(
  current: BlobAttrs, target: AccessTier, priority: RehydratePriority, now: number, times: RehydrationTimes, inPlace: boolean,
): TierChange {
  if (current.blobType !== 'BlockBlob') fail('InvalidBlobTier');
  const attrs = settleTier(current, now);
  const state = tierOf(attrs, now);
  if (state.tier !== 'Archive') return { attrs: { ...attrs, tier: target, tierChangedMs: now }, accepted: false };
  if (target === 'Archive') {
    if (attrs.rehydrate) fail('BlobBeingRehydrated');
    return { attrs, accepted: false };
  }
  if (!inPlace) fail('BlobArchived');
  return { attrs: { ...attrs, rehydrate: rehydration(attrs.rehydrate, target, priority, now, times) }, accepted: true };
}

function rehydration(
  pending: BlobAttrs['rehydrate'], to: AccessTier, priority: RehydratePriority, now: number, times: RehydrationTimes,
): NonNullable<BlobAttrs['rehydrate']> {
  const completesMs = now + (priority === 'High' ? times.highMs : times.standardMs);
  if (!pending) return { to, priority, completesMs };
  if (pending.priority === 'High' || priority !== 'High') return pending; // cannot slow down or retarget
  return { ...pending, priority: 'High', completesMs: Math.min(pending.completesMs, completesMs) };
}

const TIERS: Readonly<Record<string, AccessTier>> = { hot: 'Hot', cool: 'Cool', cold: 'Cold', archive: 'Archive' };

export function parseTier(text: string): AccessTier {
  const tier = TIERS[text.toLowerCase()];
  if (!tier) fail('InvalidHeaderValue', { HeaderName: 'x-ms-access-tier', HeaderValue: text });
  return tier;
}

export function parsePriority(text: string | undefined): RehydratePriority {
  if (text === undefined || text.toLowerCase() === 'standard') return 'Standard';
  if (text.toLowerCase() === 'high') return 'High';
  return fail('InvalidHeaderValue', { HeaderName: 'x-ms-rehydrate-priority', HeaderValue: text });
}
