// IMDS wire: what guests and drain handlers written for Azure see. Goal: the Metadata header rule,
// api-version handling, the instance and Scheduled Events document shapes, DocumentIncarnation
// moving on every change, StartRequests approval, and that a per-VM port speaks only for its VM.
// Method: process-backed instances (real processes, real per-VM ports), raw HTTP as busybox wget
// or Python urllib send it, a manual clock for NotBefore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RG, SUB, imds, startCompute } from './helpers/compute.js';
import { minutes } from '../src/platform/clock.js';

const EVENTS = '/metadata/scheduledevents?api-version=2020-07-01';

test('IMDS: Metadata header, api-versions, documents, incarnations, approvals, per-VM port isolation', { timeout: 60_000 }, async (t) => {
  const h = await startCompute();
  const { service, maintenance } = h.compute;
  const main = h.compute.imdsPort;
  try {
    await service.createAvailabilitySet({ subscriptionId: SUB, resourceGroup: RG, name: 'set-a', location: 'local', platformUpdateDomainCount: 2, platformFaultDomainCount: 2 });
    await service.createAvailabilitySet({ subscriptionId: SUB, resourceGroup: RG, name: 'set-b', location: 'local', platformUpdateDomainCount: 2 });
    const vm = (name: string, set: string | null) => service.createVm({
      subscriptionId: SUB, resourceGroup: RG, name, location: 'local', vmSize: 'Standard_B1ls', memoryMiB: 16, availabilitySet: set, tags: { env: 'test' },
    });
    for (const [name, set] of [['a0', 'set-a'], ['a1', 'set-a'], ['b0', 'set-b'], ['solo', null]] as const) await vm(name, set);
    const portOf = (name: string) => service.instanceView({ subscriptionId: SUB, resourceGroup: RG, name }).nimbus.imdsPort ?? assert.fail(`${name} has an IMDS port`);

    // 1. Metadata: true on every request, else 400; X-Forwarded-For and repeated query names refused.
    const noHeader = await imds(portOf('a0'), '/metadata/instance?api-version=2021-02-01', { metadata: null });
    assert.equal(noHeader.status, 400);
    assert.match(noHeader.json()['error'] as string, /Required metadata header not specified/);
    assert.equal((await imds(portOf('a0'), EVENTS, { metadata: 'false' })).status, 400);
    assert.equal((await imds(portOf('a0'), EVENTS, { headers: { 'X-Forwarded-For': '10.0.0.1' } })).status, 400);
    assert.equal((await imds(portOf('a0'), `${EVENTS}&api-version=2020-07-01`)).status, 400);

    // 2. api-version: required, must be one the category knows; /metadata/versions needs none.
    const missing = await imds(portOf('a0'), '/metadata/instance');
    assert.equal(missing.status, 400);
    assert.ok(Array.isArray(missing.json()['newest-versions']));
    assert.equal((await imds(portOf('a0'), '/metadata/instance?api-version=2099-01-01')).status, 400);
    assert.equal((await imds(portOf('a0'), '/metadata/scheduledevents?api-version=2021-02-01')).status, 400, 'an instance-only version');
    const versions = await imds(portOf('a0'), '/metadata/versions');
    assert.ok((versions.json()['apiVersions'] as string[]).includes('2020-07-01'));
    assert.equal((await imds(portOf('a0'), '/metadata/instance?api-version=2021-02-01', { method: 'POST', body: '{}' })).status, 405);
    assert.equal((await imds(portOf('a0'), '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=x')).status, 404);

    // 3. Instance document: strings everywhere, fields by api-version, route filtering.
    const instance = await imds(portOf('a1'), '/metadata/instance?api-version=2021-02-01');
    assert.equal(instance.status, 200);
    assert.equal(instance.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(Number(instance.headers.get('content-length')), Buffer.byteLength(instance.text));
    const compute = instance.json()['compute'] as Record<string, unknown>;
    assert.equal(compute['name'], 'a1');
    assert.equal(compute['platformUpdateDomain'], '1');
    assert.equal(compute['platformFaultDomain'], '1');
    assert.equal(compute['subscriptionId'], SUB);
    assert.match(compute['vmId'] as string, /^[0-9a-f-]{36}$/);
    assert.equal(compute['tags'], 'env:test');
    assert.deepEqual(compute['tagsList'], [{ name: 'env', value: 'test' }]);
    assert.equal(compute['resourceId'], `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/a1`);
    const old = (await imds(portOf('a1'), '/metadata/instance?api-version=2017-08-01')).json()['compute'] as Record<string, unknown>;
    assert.equal(old['resourceId'], undefined, 'resourceId arrived in 2019-03-11');
    assert.equal(old['platformUpdateDomain'], '1');
    const name = await imds(portOf('a1'), '/metadata/instance/compute/name?api-version=2021-02-01&format=text');
    assert.equal(name.text, 'a1');
    assert.equal(name.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal((await imds(portOf('a1'), '/metadata/instance/compute/name?api-version=2021-02-01')).status, 400, 'a leaf needs format=text');
    assert.equal((await imds(portOf('a1'), '/metadata/instance/network/interface/0/macAddress?api-version=2021-02-01&format=text')).text, '525400123456');
    assert.equal((await imds(portOf('a1'), '/metadata/instance/compute/nothing?api-version=2021-02-01')).status, 404);

    // 4. Who is asking: a per-VM port ignores what the caller claims; the main port needs ?vm=.
    const claimed = await imds(portOf('a0'), '/metadata/instance/compute/name?api-version=2021-02-01&format=text&vm=b0');
    assert.equal(claimed.text, 'a0', 'a guest cannot speak for another VM');
    assert.equal((await imds(main, '/metadata/instance?api-version=2021-02-01')).status, 400);
    assert.equal((await imds(main, '/metadata/instance/compute/name?api-version=2021-02-01&format=text&vm=b0')).text, 'b0');
    assert.equal((await imds(main, '/metadata/instance?api-version=2021-02-01&vm=nope')).status, 404);

    // 5. Scheduled Events: empty document, then a campaign publishes one Freeze per set and UD.
    assert.deepEqual((await imds(portOf('a0'), EVENTS)).json(), { DocumentIncarnation: 1, Events: [] });
    const publishedAt = h.clock.nowMs();
    const campaign = maintenance.startCampaign({ kind: 'memory-preserving', startedGraceMs: 1000 });
    const docA = (await imds(portOf('a1'), EVENTS)).json(); // a1 sees a0's event: the document is the set's
    assert.equal(docA['DocumentIncarnation'], 2);
    const [event] = docA['Events'] as Array<Record<string, unknown>>;
    assert.ok(event);
    assert.deepEqual(Object.keys(event).sort(), ['Description', 'DurationInSeconds', 'EventId', 'EventSource', 'EventStatus', 'EventType', 'NotBefore', 'ResourceType', 'Resources']);
    assert.equal(event['EventType'], 'Freeze');
    assert.equal(event['EventStatus'], 'Scheduled');
    assert.equal(event['ResourceType'], 'VirtualMachine');
    assert.deepEqual(event['Resources'], ['a0'], 'one update domain per event');
    assert.equal(event['NotBefore'], new Date(publishedAt + minutes(15)).toUTCString(), "Azure's 15 min notice, RFC 1123");
    assert.equal(event['EventSource'], 'Platform');
    assert.equal(typeof event['DurationInSeconds'], 'number');
    const oldEvent = ((await imds(portOf('a0'), '/metadata/scheduledevents?api-version=2017-08-01')).json()['Events'] as Array<Record<string, unknown>>)[0];
    assert.equal(oldEvent?.['Description'], undefined);
    assert.equal(oldEvent?.['DurationInSeconds'], undefined);
    const docB = (await imds(portOf('b0'), EVENTS)).json();
    assert.deepEqual(((docB['Events'] as Array<Record<string, unknown>>)[0])?.['Resources'], ['b0']);
    assert.deepEqual(((await imds(portOf('solo'), EVENTS)).json()['Events'] as Array<Record<string, unknown>>)[0]?.['Resources'], ['solo']);

    // 6. StartRequests: another set's VM cannot approve (400: it cannot see the event); garbage is 400.
    const approve = (port: number, id: string, contentType = 'application/json') =>
      imds(port, EVENTS, { method: 'POST', headers: { 'Content-Type': contentType }, body: JSON.stringify({ StartRequests: [{ EventId: id }] }) });
    const eventId = event['EventId'] as string;
    assert.equal((await approve(portOf('b0'), eventId)).status, 400, 'per-VM port isolation');
    assert.equal((await approve(portOf('a0'), 'C7061BAC-AFDC-4513-B24B-AA5F13A16123')).status, 400, 'unknown EventId');
    assert.equal((await imds(portOf('a0'), EVENTS, { method: 'POST', body: 'not json' })).status, 400);
    await h.compute.runDue();
    assert.equal(maintenance.campaign(campaign.id).lanes.find((l) => l.availabilitySet === 'set-a')?.domains[0]?.phase, 'scheduled', 'nothing approved yet');

    // Python urllib posts with a form Content-Type; the body is JSON anyway. 200 with an empty body.
    const ok = await approve(portOf('a0'), eventId, 'application/x-www-form-urlencoded');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-length'), '0');
    assert.equal((await approve(portOf('a0'), eventId)).status, 200, 'approving twice is fine');
    await h.compute.runDue();
    const started = (await imds(portOf('a0'), EVENTS)).json();
    assert.equal(started['DocumentIncarnation'], 3);
    const startedEvent = (started['Events'] as Array<Record<string, unknown>>)[0];
    assert.equal(startedEvent?.['EventStatus'], 'Started');
    assert.equal(startedEvent?.['NotBefore'], '', 'NotBefore is empty once Started');
    const setB = maintenance.campaign(campaign.id).lanes.find((l) => l.availabilitySet === 'set-b');
    assert.equal(setB?.domains[0]?.phase, 'scheduled', "a0's approval does nothing for set-b");

    // 7. After the grace the domain is updated; the event vanishes and UD1 is published: 4, then 5.
    h.clock.advance(1000);
    await h.compute.runDue();
    const after = (await imds(portOf('a0'), EVENTS)).json();
    assert.equal(after['DocumentIncarnation'], 5);
    const next = (after['Events'] as Array<Record<string, unknown>>)[0];
    assert.deepEqual(next?.['Resources'], ['a1']);
    assert.notEqual(next?.['EventId'], eventId);
    const record = maintenance.campaign(campaign.id).vms.find((r) => r.vm === 'a0');
    assert.equal(record?.outcome, 'updated');
    assert.equal(record?.pauseKind, 'process-freeze');
    t.diagnostic(`a0 record: ${JSON.stringify({ pauseMs: record?.pauseMs, memory: record?.memory, clock: record?.clock })}`);
    assert.equal(record?.memory.kind === 'process-resident' && record.memory.preserved, true);
    maintenance.cancelCampaign(campaign.id);
    await h.compute.runDue();
    assert.deepEqual((await imds(portOf('a0'), EVENTS)).json(), { DocumentIncarnation: 6, Events: [] }, 'cancelled events vanish');
    assert.equal(maintenance.campaign(campaign.id).state, 'cancelled');
  } finally {
    await h.close();
  }
});
