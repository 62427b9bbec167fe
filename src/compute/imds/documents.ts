// The JSON IMDS serves, rendered for one api-version. Pure functions.
//
// IMDS typing quirk (shared/spec/scheduled-events.md §1): in /metadata/instance every primitive
// is a string ("platformFaultDomain": "0") and missing values are "" rather than absent. Scheduled
// Events is different: DocumentIncarnation and DurationInSeconds are JSON numbers.
import type { VmRecord } from '../service/model.js';
import type { EventDocument, ScheduledEvent } from '../events/event-store.js';
import { EVENT_FIELD_SINCE, INSTANCE_FIELD_SINCE } from './versions.js';

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface InstanceFacts {
  readonly vm: VmRecord;
  /** Private address the guest has (slirp: 169.254.0.15) and its MAC without separators. */
  readonly privateIpAddress: string;
  readonly macAddress: string;
}

export function instanceDocument(facts: InstanceFacts, apiVersion: string): { [key: string]: JsonValue } {
  const { vm } = facts;
  const tags = Object.entries(vm.tags);
  const resourceId = `/subscriptions/${vm.subscriptionId}/resourceGroups/${vm.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vm.name}`;
  const compute: { [key: string]: JsonValue } = {
    azEnvironment: 'AzurePublicCloud',
    isHostCompatibilityLayerVm: 'false',
    location: vm.location,
    name: vm.name,
    offer: '',
    osType: 'Linux',
    placementGroupId: '',
    platformFaultDomain: String(vm.platformFaultDomain),
    platformSubFaultDomain: '',
    platformUpdateDomain: String(vm.platformUpdateDomain),
    priority: '',
    evictionPolicy: '',
    provider: 'Microsoft.Compute',
    publicKeys: [],
    publisher: '',
    resourceGroupName: vm.resourceGroup,
    resourceId,
    securityProfile: { secureBootEnabled: 'false', virtualTpmEnabled: 'false' },
    sku: '',
    storageProfile: {
      imageReference: { id: '', offer: '', publisher: '', sku: '', version: '' },
      osDisk: {
        caching: '', createOption: vm.osDiskId ? 'Attach' : '', diskSizeGB: '', name: vm.osDiskId?.split('/').at(-1) ?? '',
        osType: 'Linux', writeAcceleratorEnabled: 'false',
        managedDisk: { id: vm.osDiskId ?? '', storageAccountType: '' }, encryptionSettings: { enabled: 'false' },
      },
      dataDisks: [],
      resourceDisk: { size: '' },
    },
    subscriptionId: vm.subscriptionId,
    tags: tags.map(([k, v]) => `${k}:${v}`).join(';'),
    tagsList: tags.map(([name, value]) => ({ name, value })),
    userData: '',
    version: '',
    vmId: vm.vmId,
    vmScaleSetName: '',
    vmSize: vm.vmSize,
    zone: '',
    osProfile: { adminUsername: '', computerName: vm.name, disablePasswordAuthentication: 'true' },
    host: { id: '' },
  };
  // An availability set shows only through the two domain fields: IMDS has no availabilitySet field.
  for (const [field, since] of Object.entries(INSTANCE_FIELD_SINCE)) if (apiVersion < since) delete compute[field];
  return {
    compute,
    network: {
      interface: [{
        ipv4: { ipAddress: [{ privateIpAddress: facts.privateIpAddress, publicIpAddress: '' }], subnet: [{ address: '169.254.0.0', prefix: '16' }] },
        ipv6: { ipAddress: [] },
        macAddress: facts.macAddress,
      }],
    },
  };
}

/** Scheduled Events as the guest sees them; only fields and event types its api-version knows. */
export function eventsDocument(doc: EventDocument, apiVersion: string): { DocumentIncarnation: number; Events: JsonValue[] } {
  return {
    DocumentIncarnation: doc.incarnation,
    Events: doc.events.filter((event) => knownType(event, apiVersion)).map((event) => renderEvent(event, apiVersion)),
  };
}

function renderEvent(event: ScheduledEvent, apiVersion: string): { [key: string]: JsonValue } {
  const rendered: { [key: string]: JsonValue } = {
    EventId: event.eventId,
    EventStatus: event.status,
    EventType: event.eventType,
    ResourceType: 'VirtualMachine',
    Resources: [...event.resources],
    NotBefore: event.status === 'Scheduled' ? new Date(event.notBeforeMs).toUTCString() : '',
  };
  if (apiVersion >= EVENT_FIELD_SINCE.Description) rendered['Description'] = event.description;
  if (apiVersion >= EVENT_FIELD_SINCE.EventSource) rendered['EventSource'] = event.eventSource;
  if (apiVersion >= EVENT_FIELD_SINCE.DurationInSeconds) rendered['DurationInSeconds'] = event.durationInSeconds;
  return rendered;
}

function knownType(event: ScheduledEvent, apiVersion: string): boolean {
  if (event.eventType === 'Preempt') return apiVersion >= '2017-11-01';
  if (event.eventType === 'Terminate') return apiVersion >= '2019-01-01';
  return true;
}

/**
 * Route filtering: `/metadata/instance/compute/vmId` walks into the document. Returns undefined
 * when a step does not exist (404). Array elements are addressed by index.
 */
export function walk(document: JsonValue, steps: readonly string[]): JsonValue | undefined {
  let node: JsonValue | undefined = document;
  for (const step of steps) {
    if (Array.isArray(node)) node = /^\d+$/.test(step) ? node[Number(step)] : undefined;
    else if (node !== null && typeof node === 'object') node = Object.hasOwn(node, step) ? node[step] : undefined;
    else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

/** `format=text`: a leaf as itself; an object as its keys (nested ones end in '/'); an array as its indices. */
export function asText(node: JsonValue): string {
  if (Array.isArray(node)) return node.map((item, i) => (isLeaf(item) ? String(i) : `${i}/`)).join('\n');
  if (node !== null && typeof node === 'object') return Object.entries(node).map(([k, v]) => (isLeaf(v) ? k : `${k}/`)).join('\n');
  return node === null ? '' : String(node);
}

export function isLeaf(node: JsonValue): boolean {
  return node === null || typeof node !== 'object';
}

export type { JsonValue };
