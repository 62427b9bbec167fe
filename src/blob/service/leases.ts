// Lease state machine for containers and blobs (Azure "Lease Blob" / "Lease Container").
// A stored lease is one of available | leased | breaking | broken; expiry and the end of a
// break are evaluated against the request time, so nothing needs a timer.
//
//   available ──acquire──▶ leased ──(duration passes)──▶ expired (acts as available)
//                            │ break(period>0)                     │ acquire
//                            ▼                                     ▼
//                         breaking ──(period passes)──▶ broken ──acquire──▶ leased
import { fail, type BlobErrorCode } from '../errors.js';
import { newGuid } from '../../platform/ids.js';
import type { Lease, LeaseAction, LeaseView } from './model.js';

export type LeaseTarget = 'blob' | 'container';

export function effectiveLease(lease: Lease | undefined, now: number): Lease | { state: 'expired'; leaseId: string } {
  if (!lease) return { state: 'available' };
  if (lease.state === 'leased' && lease.expiresMs !== null && lease.expiresMs <= now) return { state: 'expired', leaseId: lease.leaseId };
  if (lease.state === 'breaking' && lease.breakMs <= now) return { state: 'broken' };
  return lease;
}

export function leaseView(lease: Lease | undefined, now: number): LeaseView {
  const current = effectiveLease(lease, now);
  switch (current.state) {
    case 'leased':
      return { status: 'locked', state: 'leased', duration: current.durationSec < 0 ? 'infinite' : 'fixed' };
    case 'breaking':
      return { status: 'locked', state: 'breaking' };
    default:
      return { status: 'unlocked', state: current.state };
  }
}

/**
 * Checks a write (or delete) against the lease: a leased or breaking target needs the matching
 * lease id; an id given for an unleased target is refused as Azure does.
 */
export function checkWriteLease(lease: Lease | undefined, leaseId: string | undefined, now: number, target: LeaseTarget): void {
  const current = effectiveLease(lease, now);
  const held = current.state === 'leased' || current.state === 'breaking';
  if (held) {
    if (leaseId === undefined) fail('LeaseIdMissing');
    if (leaseId.toLowerCase() !== current.leaseId.toLowerCase()) fail(mismatch(target));
    return;
  }
  if (leaseId !== undefined) fail(current.state === 'expired' ? 'LeaseLost' : notPresent(target));
}

/** Reads ignore leases, except that a wrong lease id on a read is refused. */
export function checkReadLease(lease: Lease | undefined, leaseId: string | undefined, now: number, target: LeaseTarget): void {
  if (leaseId === undefined) return;
  const current = effectiveLease(lease, now);
  if (current.state !== 'leased' && current.state !== 'breaking') fail(current.state === 'expired' ? 'LeaseLost' : notPresent(target));
  if (leaseId.toLowerCase() !== current.leaseId.toLowerCase()) fail(mismatch(target));
}

function mismatch(target: LeaseTarget): BlobErrorCode {
  return target === 'blob' ? 'LeaseIdMismatchWithBlobOperation' : 'LeaseIdMismatchWithContainerOperation';
}

function notPresent(target: LeaseTarget): BlobErrorCode {
  return target === 'blob' ? 'LeaseNotPresentWithBlobOperation' : 'LeaseNotPresentWithContainerOperation';
}

export interface LeaseTransition {
  lease: Lease;
  leaseId?: string;
  leaseTimeSec?: number;
}

/** Applies a lease action; returns the new stored lease. */
export function applyLeaseAction(stored: Lease | undefined, action: LeaseAction, now: number): LeaseTransition {
  const current = effectiveLease(stored, now);
  switch (action.action) {
    case 'acquire': {
      if (action.durationSec !== -1 && (action.durationSec < 15 || action.durationSec > 60)) fail('InvalidHeaderValue', { HeaderName: 'x-ms-lease-duration' });
      if (current.state === 'breaking') fail('LeaseIsBreakingAndCannotBeAcquired');
      if (current.state === 'leased' && (!action.proposedLeaseId || action.proposedLeaseId.toLowerCase() !== current.leaseId.toLowerCase())) fail('LeaseAlreadyPresent');
      const leaseId = action.proposedLeaseId ?? newGuid();
      return { lease: leased(leaseId, action.durationSec, now), leaseId };
    }
    case 'renew': {
      if (current.state === 'available') fail('LeaseNotPresentWithLeaseOperation');
      if (current.state === 'broken' || current.state === 'breaking') fail('LeaseIsBrokenAndCannotBeRenewed');
      if (current.leaseId.toLowerCase() !== action.leaseId.toLowerCase()) fail('LeaseIdMismatchWithLeaseOperation');
      const durationSec = stored?.state === 'leased' ? stored.durationSec : -1;
      return { lease: leased(current.leaseId, durationSec, now), leaseId: current.leaseId };
    }
    case 'change': {
      if (current.state === 'available' || current.state === 'expired' || current.state === 'broken') fail('LeaseNotPresentWithLeaseOperation');
      if (current.state === 'breaking') fail('LeaseIsBreakingAndCannotBeChanged');
      const matches = [current.leaseId, action.proposedLeaseId].some((id) => id.toLowerCase() === action.leaseId.toLowerCase());
      if (!matches) fail('LeaseIdMismatchWithLeaseOperation');
      return { lease: { ...current, leaseId: action.proposedLeaseId }, leaseId: action.proposedLeaseId };
    }
    case 'release': {
      if (current.state === 'available' || current.state === 'broken') fail('LeaseNotPresentWithLeaseOperation');
      if (current.leaseId.toLowerCase() !== action.leaseId.toLowerCase()) fail('LeaseIdMismatchWithLeaseOperation');
      return { lease: { state: 'available' } };
    }
    case 'break':
      return breakLease(current, action.breakPeriodSec, now);
  }
}

function leased(leaseId: string, durationSec: number, now: number): Lease {
  return { state: 'leased', leaseId, durationSec, expiresMs: durationSec < 0 ? null : now + durationSec * 1000 };
}

function breakLease(current: ReturnType<typeof effectiveLease>, breakPeriodSec: number | undefined, now: number): LeaseTransition {
  if (breakPeriodSec !== undefined && (breakPeriodSec < 0 || breakPeriodSec > 60)) fail('InvalidHeaderValue', { HeaderName: 'x-ms-lease-break-period' });
  if (current.state === 'available') fail('LeaseNotPresentWithLeaseOperation');
  if (current.state === 'broken' || current.state === 'expired') return { lease: { state: 'broken' }, leaseTimeSec: 0 };
  if (current.state === 'breaking') {
    const remainingMs = current.breakMs - now;
    const requestedMs = (breakPeriodSec ?? remainingMs / 1000) * 1000;
    const breakMs = now + Math.min(remainingMs, requestedMs);
    return { lease: breakMs <= now ? { state: 'broken' } : { ...current, breakMs }, leaseTimeSec: Math.ceil((breakMs - now) / 1000) };
  }
  const remainingSec = current.expiresMs === null ? Infinity : Math.ceil((current.expiresMs - now) / 1000);
  const periodSec = Math.min(breakPeriodSec ?? (current.expiresMs === null ? 0 : remainingSec), remainingSec);
  if (periodSec <= 0) return { lease: { state: 'broken' }, leaseTimeSec: 0 };
  return { lease: { state: 'breaking', leaseId: current.leaseId, breakMs: now + periodSec * 1000 }, leaseTimeSec: periodSec };
}
