// MaintenanceOrchestrator: runs host-update campaigns over availability sets, one update domain of
// a set at a time, announcing each through Scheduled Events (shared/spec/scheduled-events.md §2-4;
// the walk is drawn in campaign.ts).
//
// Driving it: everything reads the injected Clock. `step(nowMs)` makes every transition that is
// due at `nowMs` and returns at once; update work it launches runs in the background and records
// its result when done. The server calls step from a timer (and on every approval); tests move a
// ManualClock and call `runDue()`, which steps, waits for launched work, and steps again until
// nothing more is due at that time.
//
// One domain, in order:
//   pending ──(lane ready: previous domain finished + recovery)──► scheduled: event published,
//     NotBefore = now + notice
//   scheduled ──(approved per approvalPolicy, or now >= NotBefore: a guest that never approves
//     is started anyway, as Azure does)──► started: event Started, NotBefore ""
//   started ──(startedGraceMs, so pollers see Started)──► updating: per host in parallel, the
//     host's VMs one after another: pause → host work → resume → clock sync → probes
//   updating ──► finished | failed: event removed (it vanishes; there is no Completed)
//
// Policies (chosen here; README of the decision in the module comment of each):
//   - Overlapping campaigns are REFUSED (MaintenanceInProgress) while one runs. Two campaigns
//     could otherwise each hold a different domain of one set, breaking the set guarantee, and a
//     queue would hide an operator's mistake; the operator cancels or waits.
//   - A failed VM update marks its HOST failed for the rest of the campaign (no further VM on it
//     is touched: recorded 'skipped'), fails its domain, and HALTS that set's lane: no later
//     domain of that set is published. Other sets continue (their availability does not depend
//     on the failed set), except for VMs on the failed host. The campaign ends 'failed'.
//   - A VM that stopped, or was deleted, after its event was published is skipped.
//   - Cancel: domains not yet Started have their events removed (Azure: a cancelled event simply
//     vanishes); a domain already updating finishes; no new domain starts.
import type { Clock } from '../../platform/clock.js';
import { newGuid } from '../../platform/ids.js';
import type { Logger } from '../../platform/log.js';
import { ComputeError } from '../errors.js';
import type { ScheduledEventStore } from '../events/event-store.js';
import type { ComputeService } from '../service/compute-service.js';
import type { VmRecord } from '../service/model.js';
import {
  eventTypeOf, quantiles, resolveRequest,
  type Approval, type CampaignLogEntry, type CampaignRequest, type CampaignView, type DomainPhase, type LaneView,
  type ResolvedRequest, type TimelineEntry, type VmMaintenanceRecord,
} from './campaign.js';
import { updateVm, type HostWork } from './update-vm.js';

export interface MaintenanceDeps {
  readonly clock: Clock;
  readonly compute: ComputeService;
  readonly events: ScheduledEventStore;
  /** The host update run under each paused VM. Default: nothing (the handover itself is the update). */
  readonly hostWork?: HostWork;
  readonly logger?: Logger;
}

interface Domain {
  readonly updateDomain: number;
  readonly vmKeys: string[];
  readonly vmNames: string[];
  phase: DomainPhase;
  eventId: string | null;
  publishedMs: number | null;
  notBeforeMs: number | null;
  approval: Approval | null;
  startedMs: number | null;
  finishedMs: number | null;
}

interface Lane {
  readonly scope: string;
  readonly availabilitySet: string | null;
  readonly domains: Domain[];
  index: number;
  state: LaneView['state'];
  readyAtMs: number;
}

interface Campaign {
  readonly id: string;
  readonly request: ResolvedRequest;
  readonly createdMs: number;
  readonly lanes: Lane[];
  readonly records: VmMaintenanceRecord[];
  readonly log: CampaignLogEntry[];
  readonly failedHosts: Set<string>;
  readonly inFlight: Set<Promise<void>>;
  state: CampaignView['state'];
  finishedMs: number | null;
  cancelRequested: boolean;
}

export class MaintenanceOrchestrator {
  readonly #deps: MaintenanceDeps;
  readonly #campaigns = new Map<string, Campaign>();
  #seq = 0;

  constructor(deps: MaintenanceDeps) {
    this.#deps = deps;
  }

  /** Starts a campaign over the running VMs of the chosen hosts. Refused while another runs. */
  startCampaign(input: CampaignRequest): CampaignView {
    const running = [...this.#campaigns.values()].find((c) => c.state === 'running');
    if (running) throw new ComputeError('MaintenanceInProgress', { campaignId: running.id });
    const request = resolveRequest(input);
    for (const host of request.hosts ?? []) this.#deps.compute.host(host);
    if (request.noticeMs < 0 || request.startedGraceMs < 0 || request.domainRecoveryMs < 0) {
      throw new ComputeError('InvalidParameter', { reason: 'durations must not be negative' });
    }
    const now = this.#deps.clock.nowMs();
    const campaign: Campaign = {
      id: newGuid(), request, createdMs: now, lanes: this.#plan(request, now), records: [], log: [],
      failedHosts: new Set(), inFlight: new Set(), state: 'running', finishedMs: null, cancelRequested: false,
    };
    this.#campaigns.set(campaign.id, campaign);
    this.#deps.logger?.log('info', 'maintenance-started', { campaignId: campaign.id, kind: request.kind, lanes: campaign.lanes.length });
    this.step(now);
    return this.campaign(campaign.id);
  }

  cancelCampaign(id: string): CampaignView {
    const campaign = this.#require(id);
    if (campaign.state === 'running') campaign.cancelRequested = true;
    this.step(this.#deps.clock.nowMs());
    return this.campaign(id);
  }

  campaign(id: string): CampaignView {
    return view(this.#require(id));
  }

  listCampaigns(): CampaignView[] {
    return [...this.#campaigns.values()].map(view);
  }

  /** Makes every transition due at `nowMs`; returns how many it made. Never waits for update work. */
  step(nowMs: number): number {
    let transitions = 0;
    for (const campaign of this.#campaigns.values()) {
      if (campaign.state !== 'running') continue;
      for (const lane of campaign.lanes) {
        while (lane.state === 'active' && this.#advance(campaign, lane, nowMs)) transitions++;
      }
      if (campaign.lanes.every((lane) => lane.state !== 'active') && campaign.inFlight.size === 0) {
        campaign.state = campaign.cancelRequested ? 'cancelled' : campaign.lanes.some((l) => l.state === 'halted') ? 'failed' : 'completed';
        campaign.finishedMs = nowMs;
        transitions++;
        this.#deps.logger?.log('info', 'maintenance-finished', { campaignId: campaign.id, state: campaign.state });
      }
    }
    return transitions;
  }

  /** Resolves when all update work launched so far has been recorded. */
  async settle(): Promise<void> {
    for (;;) {
      const pending = [...this.#campaigns.values()].flatMap((c) => [...c.inFlight]);
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  /** step + settle until nothing more is due at the clock's current time. */
  async runDue(): Promise<void> {
    for (;;) {
      const transitions = this.step(this.#deps.clock.nowMs());
      const busy = [...this.#campaigns.values()].some((c) => c.inFlight.size > 0);
      if (!busy && transitions === 0) return;
      await this.settle();
    }
  }

  // ---- the walk ----

  #plan(request: ResolvedRequest, nowMs: number): Lane[] {
    const lanes = new Map<string, Lane>();
    const vms = this.#deps.compute.runningVms()
      .filter(({ runtime }) => request.hosts === null || request.hosts.includes(runtime.host.name))
      .sort((a, b) => a.vm.name.localeCompare(b.vm.name));
    for (const { key, vm } of vms) {
      const scope = this.#deps.compute.eventScopeOf(vm);
      const lane = lanes.get(scope) ?? { scope, availabilitySet: vm.availabilitySet, domains: [], index: 0, state: 'active' as const, readyAtMs: nowMs };
      lanes.set(scope, lane);
      let domain = lane.domains.find((d) => d.updateDomain === vm.platformUpdateDomain);
      if (!domain) {
        domain = {
          updateDomain: vm.platformUpdateDomain, vmKeys: [], vmNames: [], phase: 'pending', eventId: null,
          publishedMs: null, notBeforeMs: null, approval: null, startedMs: null, finishedMs: null,
        };
        lane.domains.push(domain);
      }
      domain.vmKeys.push(key);
      domain.vmNames.push(vm.name);
    }
    for (const lane of lanes.values()) lane.domains.sort((a, b) => a.updateDomain - b.updateDomain);
    return [...lanes.values()].sort((a, b) => a.scope.localeCompare(b.scope));
  }

  /** One transition of a lane's current domain, if due; false when nothing is due. */
  #advance(campaign: Campaign, lane: Lane, nowMs: number): boolean {
    const domain = lane.domains[lane.index];
    if (!domain) {
      lane.state = 'done';
      return true;
    }
    const { events } = this.#deps;
    const request = campaign.request;
    switch (domain.phase) {
      case 'pending':
        if (campaign.cancelRequested) return this.#cancel(campaign, lane, domain, nowMs);
        if (nowMs < lane.readyAtMs) return false;
        this.#publish(campaign, lane, domain, nowMs);
        return true;
      case 'scheduled': {
        if (campaign.cancelRequested) return this.#cancel(campaign, lane, domain, nowMs);
        const event = domain.eventId === null ? undefined : events.get(domain.eventId);
        const approvers = (event?.approvals ?? []).filter((a) => domain.vmNames.includes(a.vmName)).map((a) => a.vmName);
        const approved = request.approvalPolicy === 'any-resource' ? approvers.length > 0 : domain.vmNames.every((n) => approvers.includes(n));
        if (approved) domain.approval = { by: 'StartRequests', vmNames: approvers, atMs: nowMs };
        else if (nowMs >= (domain.notBeforeMs ?? 0)) domain.approval = { by: 'NotBefore', atMs: nowMs, unapproved: domain.vmNames.filter((n) => !approvers.includes(n)) };
        else return false;
        if (domain.eventId !== null) events.start(domain.eventId);
        domain.phase = 'started';
        domain.startedMs = nowMs;
        this.#log(campaign, lane, domain, nowMs, 'started', domain.approval.by === 'StartRequests' ? `approved by ${approvers.join(',')}` : 'NotBefore reached');
        return true;
      }
      case 'started':
        if (nowMs < (domain.startedMs ?? 0) + request.startedGraceMs) return false;
        domain.phase = 'updating';
        this.#log(campaign, lane, domain, nowMs, 'updating');
        this.#launch(campaign, lane, domain);
        return true;
      case 'updating':
        return false;
      case 'finished':
        lane.index++;
        lane.readyAtMs = (domain.finishedMs ?? nowMs) + request.domainRecoveryMs;
        return true;
      case 'failed':
        lane.state = 'halted';
        return true;
      case 'cancelled':
        lane.state = 'cancelled';
        return true;
    }
  }

  #publish(campaign: Campaign, lane: Lane, domain: Domain, nowMs: number): void {
    const request = campaign.request;
    const eventType = eventTypeOf(request.kind);
    const event = this.#deps.events.publish({
      scope: lane.scope, eventType, resources: domain.vmNames, notBeforeMs: nowMs + request.noticeMs,
      description: eventType === 'Freeze'
        ? 'Virtual machine is being paused because of a memory-preserving host update.'
        : 'Virtual machine is going to be restarted because the host server is undergoing maintenance.',
      eventSource: 'Platform', durationInSeconds: request.durationInSeconds,
    }, nowMs);
    domain.phase = 'scheduled';
    domain.eventId = event.eventId;
    domain.publishedMs = nowMs;
    domain.notBeforeMs = event.notBeforeMs;
    this.#log(campaign, lane, domain, nowMs, 'scheduled', event.eventId);
  }

  #cancel(campaign: Campaign, lane: Lane, domain: Domain, nowMs: number): boolean {
    if (domain.eventId !== null) this.#deps.events.remove(domain.eventId);
    domain.phase = 'cancelled';
    domain.finishedMs = nowMs;
    this.#log(campaign, lane, domain, nowMs, 'cancelled');
    return true;
  }

  #launch(campaign: Campaign, lane: Lane, domain: Domain): void {
    const work = this.#runDomain(campaign, lane, domain)
      .catch((error: unknown) => {
        this.#deps.logger?.log('error', 'maintenance-domain-crashed', { campaignId: campaign.id, error: String(error) });
        return false;
      })
      .then((ok) => {
        const nowMs = this.#deps.clock.nowMs();
        if (domain.eventId !== null) this.#deps.events.remove(domain.eventId);
        domain.phase = ok ? 'finished' : 'failed';
        domain.finishedMs = nowMs;
        this.#log(campaign, lane, domain, nowMs, ok ? 'finished' : 'failed');
        campaign.inFlight.delete(work);
      });
    campaign.inFlight.add(work);
  }

  /** Updates the domain's VMs: hosts in parallel, one VM at a time per host. True when all went well. */
  async #runDomain(campaign: Campaign, lane: Lane, domain: Domain): Promise<boolean> {
    const byHost = new Map<string, string[]>();
    for (const key of domain.vmKeys) {
      const host = this.#deps.compute.vmByKey(key)?.host ?? '';
      byHost.set(host, [...(byHost.get(host) ?? []), key]);
    }
    const results = await Promise.all([...byHost.entries()].map(async ([host, keys]) => {
      const outcomes: boolean[] = [];
      for (const key of keys) outcomes.push(await this.#updateOne(campaign, lane, domain, host, key));
      return outcomes.every(Boolean);
    }));
    return results.every(Boolean);
  }

  async #updateOne(campaign: Campaign, lane: Lane, domain: Domain, host: string, key: string): Promise<boolean> {
    const { compute, clock } = this.#deps;
    const vm = compute.vmByKey(key);
    const runtime = compute.runtimeOf(key);
    const base = this.#recordBase(lane, domain, key, vm, host);
    const skip = campaign.failedHosts.has(host) ? `host ${host} failed earlier in this campaign`
      : !vm || vm.powerState !== 'running' || !runtime ? 'not running any more' : null;
    if (skip !== null || !runtime) {
      campaign.records.push(skipped(base, clock.nowMs(), skip ?? 'not running'));
      return true;
    }
    compute.lock(key);
    try {
      const result = await updateVm({
        clock, compute, request: campaign.request, vmKey: key, runtime,
        hostWork: this.#deps.hostWork ?? (async () => undefined),
        context: { campaignId: campaign.id, host, vm: base.vm, availabilitySet: lane.availabilitySet, updateDomain: domain.updateDomain },
      });
      if (result.outcome === 'failed') campaign.failedHosts.add(host);
      campaign.records.push({ ...base, ...result, timeline: [...base.timeline, ...result.timeline, { atMs: clock.nowMs(), what: 'event-removed' }] });
      return result.outcome !== 'failed';
    } finally {
      compute.unlock(key);
    }
  }

  #recordBase(lane: Lane, domain: Domain, key: string, vm: VmRecord | undefined, host: string) {
    const timeline: TimelineEntry[] = [
      { atMs: domain.publishedMs ?? 0, what: 'event-scheduled', detail: `${domain.eventId} NotBefore ${new Date(domain.notBeforeMs ?? 0).toUTCString()}` },
      domain.approval?.by === 'StartRequests'
        ? { atMs: domain.approval.atMs, what: 'event-approved', detail: domain.approval.vmNames.join(',') }
        : { atMs: domain.approval?.atMs ?? 0, what: 'event-auto-started', detail: 'NotBefore reached without approval' },
      { atMs: domain.startedMs ?? 0, what: 'event-started' },
    ];
    return {
      vm: vm?.name ?? key, vmKey: key, host, availabilitySet: lane.availabilitySet, updateDomain: domain.updateDomain, timeline,
    };
  }

  #log(campaign: Campaign, lane: Lane, domain: Domain, atMs: number, what: CampaignLogEntry['what'], detail?: string): void {
    campaign.log.push({ seq: ++this.#seq, atMs, scope: lane.scope, updateDomain: domain.updateDomain, what, ...(detail === undefined ? {} : { detail }) });
  }

  #require(id: string): Campaign {
    const campaign = this.#campaigns.get(id);
    if (!campaign) throw new ComputeError('ResourceNotFound', { campaign: id });
    return campaign;
  }
}

function skipped(base: Pick<VmMaintenanceRecord, 'vm' | 'vmKey' | 'host' | 'availabilitySet' | 'updateDomain' | 'timeline'>, atMs: number, reason: string): VmMaintenanceRecord {
  return {
    ...base, outcome: 'skipped', error: null, mode: null, pauseKind: null, pauseMs: null, pidBefore: null, pidAfter: null,
    clock: null, memory: { kind: 'not-checked', reason }, timeline: [...base.timeline, { atMs, what: 'skipped', detail: reason }],
  };
}

function view(campaign: Campaign): CampaignView {
  const records = campaign.records;
  const updated = records.filter((r) => r.outcome === 'updated');
  return {
    id: campaign.id, kind: campaign.request.kind, request: campaign.request, state: campaign.state,
    createdMs: campaign.createdMs, finishedMs: campaign.finishedMs,
    lanes: campaign.lanes.map((lane) => ({
      scope: lane.scope, availabilitySet: lane.availabilitySet, state: lane.state,
      domains: lane.domains.map((d) => ({
        updateDomain: d.updateDomain, vms: [...d.vmNames], phase: d.phase, eventId: d.eventId, publishedMs: d.publishedMs,
        notBeforeMs: d.notBeforeMs, approval: d.approval, startedMs: d.startedMs, finishedMs: d.finishedMs,
      })),
    })),
    vms: [...records], log: [...campaign.log], failedHosts: [...campaign.failedHosts],
    summary: {
      vms: records.length, updated: updated.length,
      failed: records.filter((r) => r.outcome === 'failed').length,
      skipped: records.filter((r) => r.outcome === 'skipped').length,
      pauseMs: quantiles(updated.flatMap((r) => (r.pauseMs === null ? [] : [r.pauseMs]))),
      clockAfterSyncAbsMs: quantiles(updated.flatMap((r) => (r.clock?.kind === 'synced' ? [Math.abs(r.clock.afterMs)] : []))),
    },
  };
}
