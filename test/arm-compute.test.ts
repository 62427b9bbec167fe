// Microsoft.Compute availability sets and virtual machines, and the Nimbus.Compute maintenance operator
// API, through a real server.
// Goal: @azure/arm-compute's pollers (beginCreateOrUpdateAndWait, beginStartAndWait, beginPowerOffAndWait,
// beginDeallocateAndWait, beginDeleteAndWait) complete against Nimbus; an availability set spreads its VMs
// over update and fault domains and the instance view says where; ARM error codes and statuses are
// Azure's; a maintenance campaign started through the operator API walks the set's update domains in
// order, announcing each through Scheduled Events that guests approve over IMDS.
// Method: an in-process server (default config: two `process` hosts, so each VM is a heartbeat
// process, not a guest; test/compute-e2e covers qemu), the SDK for Microsoft.Compute, raw HTTPS for the
// Nimbus-only API, raw HTTP for IMDS (what guests send), and the manual clock moved past NotBefore and
// the Started grace instead of sleeping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComputeManagementClient, type VirtualMachine } from '@azure/arm-compute';
import { startTestServer, type TestServer } from './helpers/server.js';
import { armClients, armRequest, MANAGEMENT_SCOPE } from './helpers/arm.js';
import { imds } from './helpers/compute.js';
import { minutes, seconds } from '../src/platform/clock.js';

const LOCATION = 'westus';
const EVENTS = '/metadata/scheduledevents?api-version=2020-07-01';

function computeClient(srv: TestServer) {
  const arm = armClients(srv);
  const compute = new ComputeManagementClient(arm.tokenCredential, arm.subscriptionId, {
    endpoint: srv.armUrl, credentials: { scopes: [MANAGEMENT_SCOPE] }, tlsOptions: { ca: srv.armCaPem }, retryOptions: { maxRetries: 0 },
  });
  return { ...arm, compute };
}

type Clients = ReturnType<typeof computeClient>;

/** A resource group with an availability set of 3 update domains and 2 fault domains, and 4 VMs in it. */
async function setWithFourVms(c: Clients, group: string): Promise<{ setId: string; vms: string[] }> {
  await c.resources.resourceGroups.createOrUpdate(group, { location: LOCATION });
  const set = await c.compute.availabilitySets.createOrUpdate(group, 'web-set', {
    location: LOCATION, platformUpdateDomainCount: 3, platformFaultDomainCount: 2, sku: { name: 'Aligned' },
  });
  assert.ok(set.id);
  const vms = ['web-0', 'web-1', 'web-2', 'web-3'];
  for (const name of vms) {
    // Each VM's OS disk exists first: the VM holds it attached (test/compute-disk.test.ts).
    await c.compute.disks.createOrUpdate(group, `${name}-os`, { location: LOCATION, creationData: { createOption: 'Empty' }, diskSizeGB: 1 });
    await c.compute.virtualMachines.beginCreateOrUpdateAndWait(group, name, {
      location: LOCATION, hardwareProfile: { vmSize: 'Standard_B1ls' }, availabilitySet: { id: set.id },
      storageProfile: { osDisk: { createOption: 'Attach', osType: 'Linux', managedDisk: { id: `/subscriptions/${c.subscriptionId}/resourceGroups/${group}/providers/Microsoft.Compute/disks/${name}-os` } } },
      osProfile: { computerName: `${name}-host`, adminUsername: 'azureuser', adminPassword: 'never-stored-1!' },
    });
  }
  return { setId: set.id, vms };
}

function powerOf(vm: VirtualMachine): string | undefined {
  return vm.instanceView?.statuses?.find((s) => s.code?.startsWith('PowerState/'))?.code;
}

async function rejectsWith(promise: Promise<unknown>, statusCode: number, code: string): Promise<void> {
  await assert.rejects(promise, (error: { statusCode?: number; code?: string }) => {
    assert.equal(error.statusCode, statusCode, JSON.stringify(error));
    assert.equal(error.code, code);
    return true;
  });
}

test('availability set spreads VMs over domains; create/start/powerOff/deallocate/delete round trip with the SDK', { timeout: 40_000 }, async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const c = computeClient(srv);
  const { setId, vms } = await setWithFourVms(c, 'vm-rg');

  // 1. Placement: round-robin over 3 UDs and 2 FDs, reported by the instance view (GET $expand and /instanceView).
  const placed = await Promise.all(vms.map((name) => c.compute.virtualMachines.get('vm-rg', name, { expand: 'instanceView' })));
  assert.deepEqual(placed.map((vm) => vm.instanceView?.platformUpdateDomain), [0, 1, 2, 0]);
  assert.deepEqual(placed.map((vm) => vm.instanceView?.platformFaultDomain), [0, 1, 0, 1]);
  assert.deepEqual(placed.map(powerOf), Array(4).fill('PowerState/running'));
  const first = placed[0];
  assert.ok(first);
  assert.equal(first.provisioningState, 'Succeeded');
  assert.equal(first.hardwareProfile?.vmSize, 'Standard_B1ls');
  assert.equal(first.availabilitySet?.id?.toLowerCase(), setId.toLowerCase());
  assert.match(first.storageProfile?.osDisk?.managedDisk?.id ?? '', /\/disks\/web-0-os$/, 'the OS disk id is recorded');
  assert.equal(first.osProfile?.computerName, 'web-0-host');
  assert.equal(first.osProfile?.adminPassword, undefined, 'passwords are never stored');
  assert.equal(first.instanceView?.computerName, 'web-0-host');
  const set = await c.compute.availabilitySets.get('vm-rg', 'web-set');
  assert.equal(set.platformUpdateDomainCount, 3);
  assert.equal(set.platformFaultDomainCount, 2);
  assert.equal(set.sku?.name, 'Aligned');
  assert.equal(set.virtualMachines?.length, 4);

  // 2. Lists: by group, by subscription.
  const inGroup: string[] = [];
  for await (const vm of c.compute.virtualMachines.list('vm-rg')) inGroup.push(vm.name ?? '');
  assert.deepEqual(inGroup.sort(), vms);
  let inSubscription = 0;
  for await (const vm of c.compute.virtualMachines.listAll()) if (vm.name?.startsWith('web-')) inSubscription++;
  assert.equal(inSubscription, 4);
  const sets: string[] = [];
  for await (const s of c.compute.availabilitySets.list('vm-rg')) sets.push(s.name ?? '');
  assert.deepEqual(sets, ['web-set']);

  // 3. Power round trip on web-3: stopped keeps its host; deallocated releases it; start places it again in the same domains.
  const host = async () => (await c.compute.virtualMachines.instanceView('vm-rg', 'web-3')) as { statuses?: Array<{ code?: string }>; nimbus?: { host: string | null } };
  await c.compute.virtualMachines.beginPowerOffAndWait('vm-rg', 'web-3');
  const stopped = await host();
  assert.ok(stopped.statuses?.some((s) => s.code === 'PowerState/stopped'));
  await c.compute.virtualMachines.beginDeallocateAndWait('vm-rg', 'web-3');
  const deallocated = await c.compute.virtualMachines.get('vm-rg', 'web-3', { expand: 'instanceView' });
  assert.equal(powerOf(deallocated), 'PowerState/deallocated');
  await c.compute.virtualMachines.beginStartAndWait('vm-rg', 'web-3');
  const restarted = await c.compute.virtualMachines.get('vm-rg', 'web-3', { expand: 'instanceView' });
  assert.equal(powerOf(restarted), 'PowerState/running');
  assert.equal(restarted.instanceView?.platformUpdateDomain, 0);
  assert.equal(restarted.instanceView?.platformFaultDomain, 1);
  await c.compute.virtualMachines.beginRestartAndWait('vm-rg', 'web-3');
  assert.equal(powerOf(await c.compute.virtualMachines.get('vm-rg', 'web-3', { expand: 'instanceView' })), 'PowerState/running');

  // 4. Errors, as Azure's codes and statuses.
  await rejectsWith(c.compute.virtualMachines.get('vm-rg', 'nope'), 404, 'ResourceNotFound');
  await rejectsWith(c.compute.availabilitySets.get('vm-rg', 'nope'), 404, 'ResourceNotFound');
  await rejectsWith(c.compute.virtualMachines.beginCreateOrUpdateAndWait('vm-rg', 'big', {
    location: LOCATION, hardwareProfile: { vmSize: 'Standard_Nope' },
  }), 400, 'InvalidParameter');
  await rejectsWith(c.compute.virtualMachines.beginCreateOrUpdateAndWait('no-such-rg', 'x', {
    location: LOCATION, hardwareProfile: { vmSize: 'Standard_B1ls' },
  }), 404, 'ResourceGroupNotFound');
  await rejectsWith(c.compute.virtualMachines.beginCreateOrUpdateAndWait('vm-rg', 'orphan', {
    location: LOCATION, hardwareProfile: { vmSize: 'Standard_B1ls' }, availabilitySet: { id: `${setId}-missing` },
  }), 404, 'ResourceNotFound');
  await rejectsWith(c.compute.virtualMachines.beginCreateOrUpdateAndWait('vm-rg', 'web-0', {
    location: LOCATION, hardwareProfile: { vmSize: 'Standard_B2s' }, availabilitySet: { id: setId },
  }), 409, 'OperationNotAllowed');
  await rejectsWith(c.compute.availabilitySets.createOrUpdate('vm-rg', 'web-set', { location: LOCATION, platformUpdateDomainCount: 5 }), 409, 'OperationNotAllowed');
  await rejectsWith(c.compute.availabilitySets.createOrUpdate('vm-rg', 'too-many', { location: LOCATION, platformUpdateDomainCount: 21 }), 400, 'InvalidParameter');
  await rejectsWith(c.compute.virtualMachines.beginCreateOrUpdateAndWait('vm-rg', 'huge', {
    location: LOCATION, hardwareProfile: { vmSize: 'Standard_B1ls' }, tags: { 'nimbus-memory-mib': String(64 * 1024) },
  }), 409, 'AllocationFailed');
  await c.compute.virtualMachines.beginPowerOffAndWait('vm-rg', 'web-2');
  await rejectsWith(c.compute.virtualMachines.beginRestartAndWait('vm-rg', 'web-2'), 409, 'OperationNotAllowed');
  await rejectsWith(c.compute.availabilitySets.delete('vm-rg', 'web-set'), 409, 'AvailabilitySetInUse');

  // 5. Delete: VMs (and a second delete is a 204 the poller accepts), then the empty set.
  for (const name of vms) await c.compute.virtualMachines.beginDeleteAndWait('vm-rg', name);
  await c.compute.virtualMachines.beginDeleteAndWait('vm-rg', 'web-0');
  await rejectsWith(c.compute.virtualMachines.get('vm-rg', 'web-0'), 404, 'ResourceNotFound');
  assert.equal(srv.nimbus.compute.service.runningVms().length, 0, 'no hosting process is left');
  await c.compute.availabilitySets.delete('vm-rg', 'web-set');
  await rejectsWith(c.compute.availabilitySets.get('vm-rg', 'web-set'), 404, 'ResourceNotFound');
});

interface CampaignBody {
  name: string;
  properties: {
    state: string;
    lanes: Array<{ availabilitySet: string | null; updateDomains: Array<{ updateDomain: number; phase: string; approval: { by: string } | null }> }>;
    virtualMachines: Array<{ vm: string; updateDomain: number; outcome: string; pauseKind: string; pauseMs: number; memory: { kind: string; preserved?: boolean } }>;
    log: Array<{ updateDomain: number; what: string }>;
    summary: { vms: number; updated: number };
  };
}

interface EventsDoc {
  DocumentIncarnation: number;
  Events: Array<{ EventId: string; EventType: string; EventStatus: string; Resources: string[]; NotBefore: string }>;
}

test('a maintenance campaign from the operator API walks the set one update domain at a time, guests approving over IMDS', { timeout: 40_000 }, async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const c = computeClient(srv);
  await setWithFourVms(c, 'mnt-rg');
  const token = srv.nimbus.armDevToken;
  const campaigns = `/subscriptions/${c.subscriptionId}/providers/Nimbus.Compute/maintenance/campaigns?api-version=2024-01-01`;
  const events = async (vm: string) => (await imds(srv.nimbus.imdsPort, `${EVENTS}&vm=${vm}`)).json() as unknown as EventsDoc;

  // 1. Bad requests are ARM errors; a good one answers 201 with UD0 already announced.
  assert.equal((await armRequest(srv, 'POST', campaigns, { token, body: { kind: 'sideways' } })).status, 400);
  assert.equal((await armRequest(srv, 'POST', campaigns, { token, body: { kind: 'reboot', hosts: ['no-such-host'] } })).body.error?.code, 'ResourceNotFound');
  const started = await armRequest(srv, 'POST', campaigns, { token, body: { kind: 'memory-preserving', noticeSeconds: 600 } });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const id = (started.body as unknown as CampaignBody).name;
  const overlap = await armRequest(srv, 'POST', campaigns, { token, body: { kind: 'reboot' } });
  assert.equal(overlap.status, 409);
  assert.equal(overlap.body.error?.code, 'MaintenanceInProgress');

  // 2. Each domain: the Freeze event names exactly that domain's VMs; UD0 and UD2 are approved through
  //    StartRequests, UD1 never is and starts at NotBefore. Started lasts 1 s (the grace), then the update.
  const byDomain: Record<number, string[]> = { 0: ['web-0', 'web-3'], 1: ['web-1'], 2: ['web-2'] };
  let incarnation = 0;
  for (const ud of [0, 1, 2]) {
    const members = byDomain[ud] ?? [];
    const doc = await events(members[0] ?? '');
    assert.ok(doc.DocumentIncarnation > incarnation, 'DocumentIncarnation increases');
    incarnation = doc.DocumentIncarnation;
    const event = doc.Events[0];
    assert.ok(event, `UD${ud} announced`);
    assert.equal(doc.Events.length, 1, 'never two domains of the set at once');
    assert.equal(event.EventType, 'Freeze');
    assert.equal(event.EventStatus, 'Scheduled');
    assert.deepEqual([...event.Resources].sort(), members);
    if (ud === 1) {
      srv.clock.advance(minutes(10));
    } else {
      const approve = await imds(srv.nimbus.imdsPort, `${EVENTS}&vm=${members[0] ?? ''}`, {
        method: 'POST', body: JSON.stringify({ StartRequests: [{ EventId: event.EventId }] }),
      });
      assert.equal(approve.status, 200);
    }
    await srv.runDue();
    assert.equal((await events(members[0] ?? '')).Events[0]?.EventStatus, 'Started');
    srv.clock.advance(seconds(1));
    await srv.runDue();
  }

  // 3. Done: every VM updated by a process freeze (never reported as a VM blackout), same process kept.
  const done = (await armRequest(srv, 'GET', campaigns.replace('?', `/${id}?`), { token })).body as unknown as CampaignBody;
  assert.equal(done.properties.state, 'completed');
  assert.equal(done.properties.summary.updated, 4);
  for (const vm of done.properties.virtualMachines) {
    assert.equal(vm.outcome, 'updated', vm.vm);
    assert.equal(vm.pauseKind, 'process-freeze');
    assert.ok(vm.pauseMs >= 0);
    assert.equal(vm.memory.kind, 'process-resident');
    assert.equal(vm.memory.preserved, true);
  }
  const lane = done.properties.lanes[0];
  assert.equal(lane?.availabilitySet, 'web-set');
  assert.deepEqual(lane?.updateDomains.map((d) => [d.updateDomain, d.phase, d.approval?.by]), [
    [0, 'finished', 'StartRequests'], [1, 'finished', 'NotBefore'], [2, 'finished', 'StartRequests'],
  ]);
  // Walked in order: each domain is announced only after the previous one finished.
  const walk = done.properties.log.filter((e) => e.what === 'scheduled' || e.what === 'finished').map((e) => `${e.what} UD${e.updateDomain}`);
  assert.deepEqual(walk, ['scheduled UD0', 'finished UD0', 'scheduled UD1', 'finished UD1', 'scheduled UD2', 'finished UD2']);
  assert.equal((await events('web-0')).Events.length, 0, 'events vanish when done');

  // 4. The list shows it; cancelling a finished campaign changes nothing; an unknown id is 404.
  const list = (await armRequest(srv, 'GET', campaigns, { token })).body as unknown as { value: CampaignBody[] };
  assert.deepEqual(list.value.map((x) => x.name), [id]);
  const cancelled = await armRequest(srv, 'POST', campaigns.replace('?', `/${id}/cancel?`), { token });
  assert.equal((cancelled.body as unknown as CampaignBody).properties.state, 'completed');
  assert.equal((await armRequest(srv, 'GET', campaigns.replace('?', '/nope?'), { token })).status, 404);
});
