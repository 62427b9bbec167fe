// Nimbus.Compute maintenance campaigns: the operator API for host updates. Not an Azure API (Azure
// runs its maintenance itself); it follows ARM's conventions so any ARM client, and `nimbus
// maintenance` (src/cli/maintenance.ts), can drive it with the same token and CA:
//
//   POST /subscriptions/{s}/providers/Nimbus.Compute/maintenance/campaigns           start → 201 campaign
//        body { kind: 'memory-preserving'|'reboot', hosts?: string[], noticeSeconds?, startedGraceSeconds?,
//               domainRecoverySeconds?, approvalPolicy?: 'any-resource'|'every-resource', verifyMemory? }
//        (the same fields under `properties` are accepted too)
//   GET  /subscriptions/{s}/providers/Nimbus.Compute/maintenance/campaigns           { value: [campaign] }
//   GET  /subscriptions/{s}/providers/Nimbus.Compute/maintenance/campaigns/{id}      campaign
//   POST /subscriptions/{s}/providers/Nimbus.Compute/maintenance/campaigns/{id}/cancel   campaign
//
// Hosts are the machine's, not a subscription's: a campaign covers every running VM on the chosen
// hosts whatever its subscription, and the subscription in the path only scopes the URL. Overlapping
// campaigns are refused (409 MaintenanceInProgress; policy in compute/maintenance/orchestrator.ts).
//
// A campaign: { id, name, type, properties: { kind, state, createdTime, finishedTime, request, lanes
// (one per availability set: its update domains in walk order with phase, event id, NotBefore,
// approval, start/finish times), virtualMachines (per VM: outcome, pauseKind and pauseMs, clock error
// before/after the sync, memory evidence, timeline), log, failedHosts, summary } }. Times are ISO 8601;
// durations keep their unit in the name (pauseMs, noticeSeconds).
import type { CampaignKind, CampaignRequest, CampaignView, DomainView, VmMaintenanceRecord } from '../../compute/maintenance/campaign.js';
import { armFail } from '../errors.js';
import { field, json, param, readJsonObject, type ArmContext, type JsonObject, type JsonValue, type Reply } from '../context.js';
import type { RouteDef } from '../routes.js';
import { computeCall, isoOrNull, type ResourceTarget } from './compute-common.js';

const CAMPAIGNS = '/subscriptions/{subscriptionId}/providers/Nimbus.Compute/maintenance/campaigns';
export const CAMPAIGN_TYPE = 'Nimbus.Compute/maintenance/campaigns';
const KINDS: readonly CampaignKind[] = ['memory-preserving', 'reboot'];
const POLICIES = ['any-resource', 'every-resource'] as const;

export const MAINTENANCE_ROUTES = [
  { method: 'POST', path: CAMPAIGNS, kind: 'arm', handler: startCampaign },
  { method: 'GET', path: CAMPAIGNS, kind: 'arm', handler: listCampaigns },
  { method: 'GET', path: `${CAMPAIGNS}/{campaignId}`, kind: 'arm', handler: getCampaign },
  { method: 'POST', path: `${CAMPAIGNS}/{campaignId}/cancel`, kind: 'arm', handler: cancelCampaign },
] as const satisfies readonly RouteDef[];

function targetOf(id: string): ResourceTarget {
  return { type: CAMPAIGN_TYPE, name: id, resourceGroup: '-' };
}

async function startCampaign(ctx: ArmContext): Promise<Reply> {
  const request = parseRequest(await readJsonObject(ctx));
  const view = await computeCall(targetOf('new'), () => ctx.deps.compute.maintenance.startCampaign(request));
  return json(201, renderCampaign(param(ctx, 'subscriptionId'), view));
}

async function listCampaigns(ctx: ArmContext): Promise<Reply> {
  const subscriptionId = param(ctx, 'subscriptionId');
  return json(200, { value: ctx.deps.compute.maintenance.listCampaigns().map((c) => renderCampaign(subscriptionId, c)) });
}

async function getCampaign(ctx: ArmContext): Promise<Reply> {
  const id = param(ctx, 'campaignId');
  return json(200, renderCampaign(param(ctx, 'subscriptionId'), await computeCall(targetOf(id), () => ctx.deps.compute.maintenance.campaign(id))));
}

async function cancelCampaign(ctx: ArmContext): Promise<Reply> {
  const id = param(ctx, 'campaignId');
  return json(200, renderCampaign(param(ctx, 'subscriptionId'), await computeCall(targetOf(id), () => ctx.deps.compute.maintenance.cancelCampaign(id))));
}

function parseRequest(body: JsonObject): CampaignRequest {
  const input = field.object(body, 'properties', '') ?? body;
  const kind = field.string(input, 'kind', '');
  if (kind === undefined) armFail('MissingRequiredParameter', { target: 'kind' });
  const known = KINDS.find((k) => k === kind);
  if (!known) armFail('InvalidParameter', { target: 'kind', detail: `Supported: ${KINDS.join(', ')}.` });
  const request: { -readonly [K in keyof CampaignRequest]: CampaignRequest[K] } = { kind: known };
  const hosts = input['hosts'];
  if (hosts !== undefined && hosts !== null) {
    if (!Array.isArray(hosts) || !hosts.every((h): h is string => typeof h === 'string' && h !== '')) {
      armFail('InvalidRequestContent', { detail: "'hosts' must be a list of host names.", target: 'hosts' });
    }
    request.hosts = hosts;
  }
  const seconds = (key: string): number | undefined => {
    const value = field.number(input, key, '');
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) armFail('InvalidParameter', { target: key, detail: 'Expected a number of seconds >= 0.' });
    return value === undefined ? undefined : Math.round(value * 1000);
  };
  const noticeMs = seconds('noticeSeconds');
  if (noticeMs !== undefined) request.noticeMs = noticeMs;
  const startedGraceMs = seconds('startedGraceSeconds');
  if (startedGraceMs !== undefined) request.startedGraceMs = startedGraceMs;
  const domainRecoveryMs = seconds('domainRecoverySeconds');
  if (domainRecoveryMs !== undefined) request.domainRecoveryMs = domainRecoveryMs;
  const policy = field.string(input, 'approvalPolicy', '');
  if (policy !== undefined) {
    const knownPolicy = POLICIES.find((p) => p === policy);
    if (!knownPolicy) armFail('InvalidParameter', { target: 'approvalPolicy', detail: `Supported: ${POLICIES.join(', ')}.` });
    request.approvalPolicy = knownPolicy;
  }
  const verifyMemory = field.boolean(input, 'verifyMemory', '');
  if (verifyMemory !== undefined) request.verifyMemory = verifyMemory;
  return request;
}

export function renderCampaign(subscriptionId: string, view: CampaignView): JsonValue {
  const r = view.request;
  return {
    id: `/subscriptions/${subscriptionId}/providers/${CAMPAIGN_TYPE}/${view.id}`,
    name: view.id,
    type: CAMPAIGN_TYPE,
    properties: {
      kind: view.kind,
      state: view.state,
      createdTime: isoOrNull(view.createdMs),
      finishedTime: isoOrNull(view.finishedMs),
      request: {
        hosts: r.hosts === null ? null : [...r.hosts], noticeSeconds: r.noticeMs / 1000, startedGraceSeconds: r.startedGraceMs / 1000,
        domainRecoverySeconds: r.domainRecoveryMs / 1000, approvalPolicy: r.approvalPolicy, pauseBudgetMs: r.pauseBudgetMs,
        verifyMemory: r.verifyMemory, prelaunch: r.prelaunch, durationInSeconds: r.durationInSeconds,
      },
      lanes: view.lanes.map((lane) => ({
        scope: lane.scope, availabilitySet: lane.availabilitySet, state: lane.state, updateDomains: lane.domains.map(renderDomain),
      })),
      virtualMachines: view.vms.map(renderVmRecord),
      log: view.log.map((entry) => ({
        seq: entry.seq, time: new Date(entry.atMs).toISOString(), scope: entry.scope, updateDomain: entry.updateDomain,
        what: entry.what, ...(entry.detail === undefined ? {} : { detail: entry.detail }),
      })),
      failedHosts: [...view.failedHosts],
      summary: plain(view.summary),
    },
  };
}

function renderDomain(domain: DomainView): JsonValue {
  const approval = domain.approval;
  return {
    updateDomain: domain.updateDomain, vms: [...domain.vms], phase: domain.phase, eventId: domain.eventId,
    publishedTime: isoOrNull(domain.publishedMs), notBefore: isoOrNull(domain.notBeforeMs),
    approval: approval === null ? null : approval.by === 'StartRequests'
      ? { by: 'StartRequests', vms: [...approval.vmNames], time: isoOrNull(approval.atMs) }
      : { by: 'NotBefore', unapproved: [...approval.unapproved], time: isoOrNull(approval.atMs) },
    startedTime: isoOrNull(domain.startedMs), finishedTime: isoOrNull(domain.finishedMs),
  };
}

function renderVmRecord(record: VmMaintenanceRecord): JsonValue {
  return {
    vm: record.vm, host: record.host, availabilitySet: record.availabilitySet, updateDomain: record.updateDomain,
    outcome: record.outcome, error: plain(record.error), mode: record.mode, pauseKind: record.pauseKind, pauseMs: record.pauseMs,
    pidBefore: record.pidBefore, pidAfter: record.pidAfter,
    clock: plain(record.clock), memory: plain(record.memory),
    timeline: record.timeline.map((t) => ({ time: new Date(t.atMs).toISOString(), what: t.what, ...(t.detail === undefined ? {} : { detail: t.detail }) })),
  };
}

/** A record of plain data (numbers, strings, nulls, nested records) as JSON. */
function plain(value: unknown): JsonValue {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as JsonValue);
}
