// What a maintenance campaign is and what it records: the request an operator makes, the walk
// (lanes of update domains) and, per VM, what really happened. Types and pure helpers only.
//
//   campaign ─┬─ lane "set:A"  (one per availability set; a VM outside any set is its own lane)
//             │    ├─ domain UD0 ─ event (Scheduled → Started → removed) ─ update each VM, per host
//             │    ├─ domain UD1   published only after UD0 finished (+ recovery time)
//             │    └─ ...
//             └─ lane "vm:x"   ── domain UD0
//
// Lanes run side by side; inside a lane exactly one domain is between "scheduled" and "finished"
// at any time. That is the availability-set guarantee: never two update domains of one set at once.
import type { EventType } from '../events/event-store.js';

export type CampaignKind = 'memory-preserving' | 'reboot';

export interface CampaignRequest {
  readonly kind: CampaignKind;
  /** Hosts to update; default every host. */
  readonly hosts?: readonly string[];
  /** NotBefore minus publish time. Default: Azure's minimum notice, 15 min for Freeze and Reboot. */
  readonly noticeMs?: number;
  /** After an event turns Started, how long pollers get to see it before the VMs are paused. Default 1 s. */
  readonly startedGraceMs?: number;
  /** Wait after a domain finished before the next one of the same set is published. Default 0; reboot 30 min (Azure). */
  readonly domainRecoveryMs?: number;
  /**
   * When an approved event may start before NotBefore. 'any-resource' (default, Azure's rule): one
   * StartRequests from any VM the event names. 'every-resource': every VM it names approved.
   */
  readonly approvalPolicy?: 'any-resource' | 'every-resource';
  /** A pause longer than this counts as a failed update (Azure's worst case is ~30 s). Default 30 s. */
  readonly pauseBudgetMs?: number;
  /** qemu: check the guest memory region's md5 after the update (costs a guest-exec). Default true. */
  readonly verifyMemory?: boolean;
  /** qemu: start the replacement QEMU before the pause. Default true. */
  readonly prelaunch?: boolean;
  /** DurationInSeconds in the events. Default 1 for Freeze (pauses are milliseconds; rounded up), -1 for Reboot. */
  readonly durationInSeconds?: number;
}

export type ResolvedRequest = Required<Omit<CampaignRequest, 'hosts'>> & { readonly hosts: readonly string[] | null };

export const FREEZE_NOTICE_MS = 15 * 60_000;
export const REBOOT_NOTICE_MS = 15 * 60_000;
export const REBOOT_RECOVERY_MS = 30 * 60_000;

export function resolveRequest(request: CampaignRequest): ResolvedRequest {
  const reboot = request.kind === 'reboot';
  return {
    kind: request.kind,
    hosts: request.hosts ?? null,
    noticeMs: request.noticeMs ?? (reboot ? REBOOT_NOTICE_MS : FREEZE_NOTICE_MS),
    startedGraceMs: request.startedGraceMs ?? 1000,
    domainRecoveryMs: request.domainRecoveryMs ?? (reboot ? REBOOT_RECOVERY_MS : 0),
    approvalPolicy: request.approvalPolicy ?? 'any-resource',
    pauseBudgetMs: request.pauseBudgetMs ?? 30_000,
    verifyMemory: request.verifyMemory ?? true,
    prelaunch: request.prelaunch ?? true,
    durationInSeconds: request.durationInSeconds ?? (reboot ? -1 : 1),
  };
}

export const eventTypeOf = (kind: CampaignKind): EventType => (kind === 'memory-preserving' ? 'Freeze' : 'Reboot');

export type DomainPhase = 'pending' | 'scheduled' | 'started' | 'updating' | 'finished' | 'failed' | 'cancelled';

export type Approval =
  | { readonly by: 'StartRequests'; readonly vmNames: readonly string[]; readonly atMs: number }
  | { readonly by: 'NotBefore'; readonly atMs: number; readonly unapproved: readonly string[] };

export interface DomainView {
  readonly updateDomain: number;
  readonly vms: readonly string[];
  readonly phase: DomainPhase;
  readonly eventId: string | null;
  readonly publishedMs: number | null;
  readonly notBeforeMs: number | null;
  readonly approval: Approval | null;
  readonly startedMs: number | null;
  readonly finishedMs: number | null;
}

export interface LaneView {
  readonly scope: string;
  /** The availability set's name, or null for a VM outside any set. */
  readonly availabilitySet: string | null;
  readonly state: 'active' | 'done' | 'halted' | 'cancelled';
  readonly domains: readonly DomainView[];
}

export type MemoryCheck =
  /** qemu: the guest's RAM region (md5 printed at boot vs md5 now) and its heartbeat counter. */
  | { readonly kind: 'guest-region'; readonly md5Before: string | null; readonly md5After: string | null;
      readonly heartbeatBefore: number | null; readonly heartbeatAfter: number | null; readonly preserved: boolean }
  /** process: the same process stayed resident and its heartbeat counter continued. */
  | { readonly kind: 'process-resident'; readonly pidBefore: number; readonly pidAfter: number;
      readonly heartbeatBefore: number | null; readonly heartbeatAfter: number | null; readonly preserved: boolean }
  | { readonly kind: 'lost-by-design'; readonly reason: 'reboot' }
  | { readonly kind: 'not-checked'; readonly reason: string };

export type ClockRecord =
  | { readonly kind: 'synced'; readonly beforeMs: number; readonly afterMs: number; readonly steps: number }
  | { readonly kind: 'not-applicable'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

export interface TimelineEntry {
  readonly atMs: number;
  readonly what: 'event-scheduled' | 'event-approved' | 'event-auto-started' | 'event-started' | 'paused' | 'resumed'
    | 'clock-synced' | 'event-removed' | 'failed' | 'skipped';
  readonly detail?: string;
}

export interface VmMaintenanceRecord {
  readonly vm: string;
  readonly vmKey: string;
  readonly host: string;
  readonly availabilitySet: string | null;
  readonly updateDomain: number;
  readonly outcome: 'updated' | 'failed' | 'skipped';
  readonly error: { readonly code: string; readonly reason: string } | null;
  readonly mode: 'prelaunch' | 'cold' | 'freeze-thaw' | 'reboot' | null;
  /** What the pause was: a VM blackout (qemu), a process freeze (never called a VM blackout), or reboot downtime. */
  readonly pauseKind: 'vm-blackout' | 'process-freeze' | 'reboot-downtime' | null;
  readonly pauseMs: number | null;
  readonly pidBefore: number | null;
  readonly pidAfter: number | null;
  readonly clock: ClockRecord | null;
  readonly memory: MemoryCheck;
  readonly timeline: readonly TimelineEntry[];
}

export interface CampaignLogEntry {
  readonly seq: number;
  readonly atMs: number;
  readonly scope: string;
  readonly updateDomain: number;
  readonly what: 'scheduled' | 'approved' | 'started' | 'updating' | 'finished' | 'failed' | 'cancelled';
  readonly detail?: string;
}

export interface Quantiles {
  readonly n: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export interface CampaignView {
  readonly id: string;
  readonly kind: CampaignKind;
  readonly request: ResolvedRequest;
  readonly state: 'running' | 'completed' | 'failed' | 'cancelled';
  readonly createdMs: number;
  readonly finishedMs: number | null;
  readonly lanes: readonly LaneView[];
  readonly vms: readonly VmMaintenanceRecord[];
  readonly log: readonly CampaignLogEntry[];
  readonly failedHosts: readonly string[];
  readonly summary: {
    readonly vms: number;
    readonly updated: number;
    readonly failed: number;
    readonly skipped: number;
    readonly pauseMs: Quantiles;
    readonly clockAfterSyncAbsMs: Quantiles;
  };
}

export function quantiles(values: readonly number[]): Quantiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number | null => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? null;
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? null };
}
