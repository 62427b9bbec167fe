// Reading the XML request bodies of the Blob REST API into service types: Put Block List,
// Set Container ACL and Set Blob Service Properties (spec/blob-rest.md §6, §7, §15).
// Bodies arrive as size-capped text (request.ts readSmallBody); malformed XML is InvalidXmlDocument,
// a well-formed document with the wrong shape or values is InvalidXmlDocument / InvalidXmlNodeValue
// with the offending node named.

import type { BlockListItem, ServiceProperties, SignedIdentifier } from '../service/model.js';
import { wireFail } from '../../azure-wire/errors.js';
import { parseIso } from '../../azure-wire/format.js';
import { child, childText, parseXml, type XmlElement } from '../../azure-wire/xml.js';

const BLOCK_KINDS: Readonly<Record<string, BlockListItem['kind'] | undefined>> = {
  Committed: 'committed',
  Uncommitted: 'uncommitted',
  Latest: 'latest',
};

/** `<BlockList><Latest>id</Latest>…</BlockList>` in document order; the order is the new blob's. */
export function parseBlockList(text: string): BlockListItem[] {
  const root = parseXml(text);
  if (root === undefined || root.name !== 'BlockList') wireFail('InvalidXmlDocument');
  const items: BlockListItem[] = [];
  for (const element of root.children) {
    const kind = BLOCK_KINDS[element.name];
    if (kind === undefined) wireFail('InvalidXmlNodeValue', { XmlNodeName: element.name });
    items.push({ kind, blockId: element.text });
  }
  return items;
}

/** `<SignedIdentifiers>`; an empty body means no identifiers. */
export function parseSignedIdentifiers(text: string): SignedIdentifier[] {
  const root = parseXml(text);
  if (root === undefined) return [];
  if (root.name !== 'SignedIdentifiers') wireFail('InvalidXmlDocument');
  return root.children.map(parseSignedIdentifier);
}

function parseSignedIdentifier(element: XmlElement): SignedIdentifier {
  if (element.name !== 'SignedIdentifier') wireFail('InvalidXmlNodeValue', { XmlNodeName: element.name });
  const id = childText(element, 'Id');
  if (id === undefined) wireFail('InvalidXmlDocument', { XmlNodeName: 'Id' });
  const identifier: SignedIdentifier = { id };
  const policy = child(element, 'AccessPolicy');
  if (policy === undefined) return identifier;
  const start = childText(policy, 'Start');
  const expiry = childText(policy, 'Expiry');
  const permissions = childText(policy, 'Permission');
  if (start !== undefined && start !== '') identifier.startMs = isoNode('Start', start);
  if (expiry !== undefined && expiry !== '') identifier.expiryMs = isoNode('Expiry', expiry);
  if (permissions !== undefined && permissions !== '') identifier.permissions = permissions;
  return identifier;
}

function isoNode(name: string, text: string): number {
  return parseIso(text) ?? wireFail('InvalidXmlNodeValue', { XmlNodeName: name });
}

/**
 * `<StorageServiceProperties>` → only the settings present (absent ones keep their value, §15).
 * Logging, metrics, CORS and static website are kept as element trees (see render.ts).
 */
export function parseServiceProperties(text: string): ServiceProperties {
  const root = parseXml(text);
  if (root === undefined || root.name !== 'StorageServiceProperties') wireFail('InvalidXmlDocument');
  const change: ServiceProperties = {};
  for (const element of root.children) {
    switch (element.name) {
      case 'Logging': change.logging = element; break;
      case 'HourMetrics': change.hourMetrics = element; break;
      case 'MinuteMetrics': change.minuteMetrics = element; break;
      case 'Cors': change.cors = element; break;
      case 'StaticWebsite': change.staticWebsite = element; break;
      case 'DefaultServiceVersion': change.defaultServiceVersion = element.text; break;
      case 'DeleteRetentionPolicy': change.deleteRetentionPolicy = parseRetention(element); break;
      default: break; // newer settings Nimbus does not know are ignored, as older Azure versions do
    }
  }
  return change;
}

function parseRetention(element: XmlElement): NonNullable<ServiceProperties['deleteRetentionPolicy']> {
  const enabled = booleanNode('Enabled', childText(element, 'Enabled'));
  if (enabled === undefined) wireFail('InvalidXmlDocument', { XmlNodeName: 'Enabled' });
  const policy: NonNullable<ServiceProperties['deleteRetentionPolicy']> = { enabled };
  const daysText = childText(element, 'Days');
  if (daysText !== undefined && daysText !== '') {
    const days = Number(daysText);
    if (!Number.isInteger(days)) wireFail('InvalidXmlNodeValue', { XmlNodeName: 'Days' });
    policy.days = days;
  }
  const allow = booleanNode('AllowPermanentDelete', childText(element, 'AllowPermanentDelete'));
  if (allow !== undefined) policy.allowPermanentDelete = allow;
  return policy;
}

function booleanNode(name: string, text: string | undefined): boolean | undefined {
  if (text === undefined || text === '') return undefined;
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  return wireFail('InvalidXmlNodeValue', { XmlNodeName: name });
}
