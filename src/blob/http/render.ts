// Rendering service results for the wire: XML bodies (List Containers, List Blobs, Get Block List,
// container ACL, service properties) and the header sets of blob and container properties.
//
// Element names, nesting and order follow the Blob swagger (spec/blob-rest.md §6, §7, §8, §13, §15).
// Quirks copied on purpose:
// - In listings a container's <Etag> keeps its quotes, a blob's does not (as Azure sends them).
// - A blob name that XML 1.0 cannot carry is percent-encoded with `Encoded="true"`, which the SDKs decode.
// - Times in headers and <Properties> are RFC 1123; ACL Start/Expiry are ISO 8601 with 7 digits.
// - Properties a blob does not have yet in Nimbus (tiers) are reported as Azure reports a blob that
//   never had one set: block blobs are `Hot`, inferred.

import type { OutgoingHttpHeaders } from 'node:http';
import type {
  BlobView, BlockInfo, BlockListView, ContainerView, CopyState, LeaseView, ListBlobsResult,
  ListContainersResult, Metadata, ServiceProperties, SignedIdentifier,
} from '../service/model.js';
import { formatIso7, formatRfc1123, rfc1123Formatter } from '../../azure-wire/format.js';
import { Utf8Builder, XML_DECLARATION, el, escapeXml, hasInvalidXmlChars, optEl, type XmlElement } from '../../azure-wire/xml.js';

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

// ---------------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------------

export function setMetadataHeaders(out: OutgoingHttpHeaders, metadata: Metadata): void {
  for (const name of Object.keys(metadata)) out[`x-ms-meta-${name}`] = metadata[name];
}

export function setLeaseHeaders(out: OutgoingHttpHeaders, lease: LeaseView): void {
  out['x-ms-lease-status'] = lease.status;
  out['x-ms-lease-state'] = lease.state;
  if (lease.duration !== undefined) out['x-ms-lease-duration'] = lease.duration;
}

export function setVersionedHeaders(out: OutgoingHttpHeaders, etag: string, lastModifiedMs: number): void {
  out['ETag'] = etag;
  out['Last-Modified'] = formatRfc1123(lastModifiedMs);
}

/** Get Container Properties / Get Container Metadata (spec §6). */
export function setContainerHeaders(out: OutgoingHttpHeaders, container: ContainerView): void {
  setVersionedHeaders(out, container.etag, container.lastModifiedMs);
  setMetadataHeaders(out, container.metadata);
  setLeaseHeaders(out, container.lease);
  if (container.publicAccess !== null) out['x-ms-blob-public-access'] = container.publicAccess;
  out['x-ms-has-immutability-policy'] = 'false';
  out['x-ms-has-legal-hold'] = 'false';
  out['x-ms-default-encryption-scope'] = '$account-encryption-key';
  out['x-ms-deny-encryption-scope-override'] = 'false';
  out['x-ms-immutable-storage-with-versioning-enabled'] = 'false';
}

/**
 * Get Blob / Get Blob Properties (spec §8). Content-Length and Content-MD5 are left to the caller:
 * they depend on the range served.
 */
export function setBlobHeaders(out: OutgoingHttpHeaders, blob: BlobView, kind: 'get' | 'properties'): void {
  const h = blob.headers;
  setVersionedHeaders(out, blob.etag, blob.lastModifiedMs);
  out['Content-Type'] = h.contentType ?? DEFAULT_CONTENT_TYPE;
  if (h.contentEncoding !== undefined) out['Content-Encoding'] = h.contentEncoding;
  if (h.contentLanguage !== undefined) out['Content-Language'] = h.contentLanguage;
  if (h.contentDisposition !== undefined) out['Content-Disposition'] = h.contentDisposition;
  if (h.cacheControl !== undefined) out['Cache-Control'] = h.cacheControl;
  out['x-ms-creation-time'] = formatRfc1123(blob.createdMs);
  out['x-ms-blob-type'] = blob.blobType;
  setMetadataHeaders(out, blob.metadata);
  setLeaseHeaders(out, blob.lease);
  if (blob.copy !== null) setCopyHeaders(out, blob.copy);
  if (blob.incrementalCopy !== undefined) {
    out['x-ms-incremental-copy'] = 'true';
    if (blob.incrementalCopy.destinationSnapshot !== undefined) out['x-ms-copy-destination-snapshot'] = blob.incrementalCopy.destinationSnapshot;
  }
  if (blob.versionId !== undefined) {
    out['x-ms-version-id'] = blob.versionId;
    out['x-ms-is-current-version'] = blob.isCurrentVersion === true ? 'true' : 'false';
  }
  out['x-ms-server-encrypted'] = 'true';
  out['Accept-Ranges'] = 'bytes';
  if (kind === 'properties' && blob.tier !== undefined) setTierHeaders(out, blob.tier);
  if (blob.sequenceNumber !== undefined) out['x-ms-blob-sequence-number'] = String(blob.sequenceNumber);
  if (blob.append !== undefined) {
    out['x-ms-blob-committed-block-count'] = String(blob.append.committedBlockCount);
    if (blob.append.sealed) out['x-ms-blob-sealed'] = 'true';
  }
}

function setTierHeaders(out: OutgoingHttpHeaders, tier: NonNullable<BlobView['tier']>): void {
  out['x-ms-access-tier'] = tier.tier;
  if (tier.inferred) out['x-ms-access-tier-inferred'] = 'true';
  if (tier.changedMs !== undefined) out['x-ms-access-tier-change-time'] = formatRfc1123(tier.changedMs);
  if (tier.rehydrating) {
    out['x-ms-archive-status'] = `rehydrate-pending-to-${tier.rehydrating.to.toLowerCase()}`;
    out['x-ms-rehydrate-priority'] = tier.rehydrating.priority;
  }
}

function setCopyHeaders(out: OutgoingHttpHeaders, copy: CopyState): void {
  out['x-ms-copy-id'] = copy.copyId;
  out['x-ms-copy-source'] = copy.source;
  out['x-ms-copy-status'] = copy.status;
  out['x-ms-copy-progress'] = copy.progress;
  if (copy.completionMs !== null) out['x-ms-copy-completion-time'] = formatRfc1123(copy.completionMs);
  if (copy.statusDescription !== undefined) out['x-ms-copy-status-description'] = copy.statusDescription;
}

// ---------------------------------------------------------------------------------------------
// List Containers (spec §6)
// ---------------------------------------------------------------------------------------------

export interface ListEcho {
  prefix: string | undefined;
  marker: string | undefined;
  maxResults: number | undefined;
  delimiter?: string | undefined;
}

export function renderContainerList(serviceEndpoint: string, echo: ListEcho, result: ListContainersResult, includeMetadata: boolean): string {
  let xml = `${XML_DECLARATION}<EnumerationResults ServiceEndpoint="${escapeXml(serviceEndpoint)}">` + renderEcho(echo) + '<Containers>';
  for (const container of result.containers) {
    const deleted = container.deleted;
    xml += '<Container>' + el('Name', container.name)
      + (deleted ? '<Deleted>true</Deleted>' + el('Version', deleted.version) : '')
      + '<Properties>'
      + el('Last-Modified', formatRfc1123(container.lastModifiedMs)) + el('Etag', container.etag)
      + renderLeaseElements(container.lease)
      + optEl('PublicAccess', container.publicAccess)
      + '<HasImmutabilityPolicy>false</HasImmutabilityPolicy><HasLegalHold>false</HasLegalHold>'
      + (deleted ? el('DeletedTime', formatRfc1123(deleted.deletedMs)) + el('RemainingRetentionDays', deleted.remainingDays) : '')
      + '</Properties>'
      + (includeMetadata ? renderMetadata(container.metadata) : '')
      + '</Container>';
  }
  return xml + '</Containers>' + el('NextMarker', result.nextMarker ?? '') + '</EnumerationResults>';
}

function renderEcho(echo: ListEcho): string {
  return optEl('Prefix', echo.prefix) + optEl('Marker', echo.marker) + optEl('MaxResults', echo.maxResults)
    + optEl('Delimiter', echo.delimiter);
}

function renderLeaseElements(lease: LeaseView): string {
  return el('LeaseStatus', lease.status) + el('LeaseState', lease.state) + optEl('LeaseDuration', lease.duration);
}

function renderMetadata(metadata: Metadata): string {
  let xml = '<Metadata>';
  for (const name of Object.keys(metadata)) xml += el(name, metadata[name] ?? '');
  return xml + '</Metadata>';
}

// ---------------------------------------------------------------------------------------------
// List Blobs (spec §13)
// ---------------------------------------------------------------------------------------------

/** A plain block blob's entry is ~900 bytes; the builder grows if a page needs more. */
const ENTRY_BYTES_GUESS = 1024;

export interface BlobListOptions {
  includeMetadata: boolean;
  includeCopy: boolean;
}

/**
 * Blobs and prefixes interleaved in name order, as Azure lists them.
 *
 * This is the hot path of a 5,000-entry page (~4.5 MB of XML), so each entry is one template
 * literal with its element names written out, encoded into the body's bytes at once. That beats
 * `el()` per element (a tag string built and escaped per call) by about 2×, and writing each entry
 * straight into a Buffer avoids both the deep concatenation tree that `xml += …` builds (which
 * `Buffer.byteLength` then has to flatten) and keeping 5,000 strings alive for one final join.
 * Only text that can hold any character goes through `escapeXml`; dates, numbers and the enums
 * (blob type, lease, tier) are XML-safe by construction.
 */
export function renderBlobList(
  serviceEndpoint: string, containerName: string, echo: ListEcho, result: ListBlobsResult, options: BlobListOptions,
): Buffer {
  const { blobs, prefixes } = result;
  const parts = new Utf8Builder(ENTRY_BYTES_GUESS * (blobs.length + prefixes.length) + 1024);
  parts.append(
    `${XML_DECLARATION}<EnumerationResults ServiceEndpoint="${escapeXml(serviceEndpoint)}" ContainerName="${escapeXml(containerName)}">`
    + renderEcho(echo) + '<Blobs>',
  );
  const date = rfc1123Formatter();
  let b = 0;
  let p = 0;
  while (b < blobs.length || p < prefixes.length) {
    const blob = blobs[b];
    const prefix = prefixes[p];
    if (blob !== undefined && (prefix === undefined || blob.name <= prefix)) {
      parts.append(renderBlobEntry(blob, options, date));
      b++;
    } else if (prefix !== undefined) {
      parts.append(`<BlobPrefix>${renderName(prefix)}</BlobPrefix>`);
      p++;
    }
  }
  parts.append('</Blobs>' + el('NextMarker', result.nextMarker ?? '') + '</EnumerationResults>');
  return parts.bytes();
}

function renderName(name: string): string {
  return hasInvalidXmlChars(name) ? `<Name Encoded="true">${encodeURIComponent(name)}</Name>` : `<Name>${escapeXml(name)}</Name>`;
}

/** `<name>text</name>`, or `<name />` for '' — as `el()`, for the template literals below. */
function textEl(name: string, text: string): string {
  return text === '' ? `<${name} />` : `<${name}>${escapeXml(text)}</${name}>`;
}

function renderBlobEntry(blob: BlobView, options: BlobListOptions, date: (ms: number) => string): string {
  const h = blob.headers;
  const lease = blob.lease;
  const head = `<Blob>${renderName(blob.name)}${blob.deleted ? '<Deleted>true</Deleted>' : ''}`
    + `${blob.snapshot === undefined ? '' : textEl('Snapshot', blob.snapshot)}`
    + `${blob.versionId === undefined ? '' : textEl('VersionId', blob.versionId)}`
    + `${blob.isCurrentVersion ? '<IsCurrentVersion>true</IsCurrentVersion>' : ''}`;
  const properties = `<Properties><Creation-Time>${date(blob.createdMs)}</Creation-Time>`
    + `<Last-Modified>${date(blob.lastModifiedMs)}</Last-Modified>${textEl('Etag', unquote(blob.etag))}`
    + `<Content-Length>${blob.sizeBytes}</Content-Length>${textEl('Content-Type', h.contentType ?? DEFAULT_CONTENT_TYPE)}`
    + `${textEl('Content-Encoding', h.contentEncoding ?? '')}${textEl('Content-Language', h.contentLanguage ?? '')}`
    + `<Content-CRC64 />${textEl('Content-MD5', h.contentMd5 ?? '')}${textEl('Cache-Control', h.cacheControl ?? '')}`
    + `${textEl('Content-Disposition', h.contentDisposition ?? '')}`
    + `${blob.sequenceNumber === undefined ? '' : `<x-ms-blob-sequence-number>${blob.sequenceNumber}</x-ms-blob-sequence-number>`}`
    + `<BlobType>${blob.blobType}</BlobType>${blob.tier ? renderTierElements(blob.tier) : ''}`
    + `<LeaseStatus>${lease.status}</LeaseStatus><LeaseState>${lease.state}</LeaseState>`
    + `${lease.duration === undefined ? '' : `<LeaseDuration>${lease.duration}</LeaseDuration>`}<ServerEncrypted>true</ServerEncrypted>`
    + `${blob.deleted ? `<DeletedTime>${date(blob.deleted.deletedMs)}</DeletedTime><RemainingRetentionDays>${blob.deleted.remainingDays}</RemainingRetentionDays>` : ''}`
    + `${blob.append?.sealed ? '<Sealed>true</Sealed>' : ''}${blob.incrementalCopy ? '<IncrementalCopy>true</IncrementalCopy>' : ''}`
    + `${options.includeCopy && blob.copy !== null ? renderCopyElements(blob.copy) : ''}`
    + `${options.includeCopy && blob.incrementalCopy?.destinationSnapshot !== undefined ? el('DestinationSnapshot', blob.incrementalCopy.destinationSnapshot) : ''}`
    + '</Properties>';
  const tail = `${options.includeMetadata ? renderMetadata(blob.metadata) : ''}${blob.hasVersionsOnly ? '<HasVersionsOnly>true</HasVersionsOnly>' : ''}</Blob>`;
  return head + properties + tail;
}

function renderTierElements(tier: NonNullable<BlobView['tier']>): string {
  return el('AccessTier', tier.tier)
    + (tier.inferred ? '<AccessTierInferred>true</AccessTierInferred>' : '')
    + (tier.changedMs === undefined ? '' : el('AccessTierChangeTime', formatRfc1123(tier.changedMs)))
    + (tier.rehydrating ? el('ArchiveStatus', `rehydrate-pending-to-${tier.rehydrating.to.toLowerCase()}`) + el('RehydratePriority', tier.rehydrating.priority) : '');
}

function renderCopyElements(copy: CopyState): string {
  return el('CopyId', copy.copyId) + el('CopyStatus', copy.status) + el('CopySource', copy.source)
    + el('CopyProgress', copy.progress)
    + (copy.completionMs === null ? '' : el('CopyCompletionTime', formatRfc1123(copy.completionMs)))
    + optEl('CopyStatusDescription', copy.statusDescription);
}

function unquote(etag: string): string {
  return etag.length >= 2 && etag.charCodeAt(0) === 34 && etag.charCodeAt(etag.length - 1) === 34 ? etag.slice(1, -1) : etag;
}

// ---------------------------------------------------------------------------------------------
// Get Block List (spec §7)
// ---------------------------------------------------------------------------------------------

export type BlockListType = 'committed' | 'uncommitted' | 'all';

export function renderBlockList(view: BlockListView, type: BlockListType): string {
  let xml = `${XML_DECLARATION}<BlockList>`;
  if (type !== 'uncommitted') xml += renderBlocks('CommittedBlocks', view.committed);
  if (type !== 'committed') xml += renderBlocks('UncommittedBlocks', view.uncommitted);
  return xml + '</BlockList>';
}

function renderBlocks(name: string, blocks: readonly BlockInfo[]): string {
  let xml = `<${name}>`;
  for (const block of blocks) xml += '<Block>' + el('Name', block.name) + el('Size', block.sizeBytes) + '</Block>';
  return xml + `</${name}>`;
}

// ---------------------------------------------------------------------------------------------
// Container ACL (spec §6)
// ---------------------------------------------------------------------------------------------

export function renderSignedIdentifiers(identifiers: readonly SignedIdentifier[]): string {
  let xml = `${XML_DECLARATION}<SignedIdentifiers>`;
  for (const identifier of identifiers) {
    xml += '<SignedIdentifier>' + el('Id', identifier.id) + '<AccessPolicy>'
      + (identifier.startMs === undefined ? '' : el('Start', formatIso7(identifier.startMs)))
      + (identifier.expiryMs === undefined ? '' : el('Expiry', formatIso7(identifier.expiryMs)))
      + optEl('Permission', identifier.permissions)
      + '</AccessPolicy></SignedIdentifier>';
  }
  return xml + '</SignedIdentifiers>';
}

// ---------------------------------------------------------------------------------------------
// Blob service properties (spec §15)
// ---------------------------------------------------------------------------------------------
//
// Logging, metrics, CORS and static website are stored as the XML element trees the client sent
// (`XmlElement`, plain JSON-able data) and echoed back verbatim: Nimbus does not act on them, and a
// round trip must not lose what a client set. Settings never set render Azure's defaults.

const DEFAULT_LOGGING = '<Logging><Version>1.0</Version><Delete>false</Delete><Read>false</Read><Write>false</Write><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></Logging>';
const defaultMetrics = (name: string): string =>
  `<${name}><Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></${name}>`;
const DEFAULT_CORS = '<Cors />';
const DEFAULT_STATIC_WEBSITE = '<StaticWebsite><Enabled>false</Enabled></StaticWebsite>';

export function renderServiceProperties(properties: ServiceProperties): string {
  const retention = properties.deleteRetentionPolicy;
  const retentionXml = retention === undefined
    ? '<DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy>'
    : '<DeleteRetentionPolicy>' + el('Enabled', retention.enabled)
      + (retention.enabled && retention.days !== undefined ? el('Days', retention.days) : '')
      + (retention.allowPermanentDelete === undefined ? '' : el('AllowPermanentDelete', retention.allowPermanentDelete))
      + '</DeleteRetentionPolicy>';
  return `${XML_DECLARATION}<StorageServiceProperties>`
    + renderStored(properties.logging, DEFAULT_LOGGING)
    + renderStored(properties.hourMetrics, defaultMetrics('HourMetrics'))
    + renderStored(properties.minuteMetrics, defaultMetrics('MinuteMetrics'))
    + renderStored(properties.cors, DEFAULT_CORS)
    + optEl('DefaultServiceVersion', properties.defaultServiceVersion)
    + retentionXml
    + renderStored(properties.staticWebsite, DEFAULT_STATIC_WEBSITE)
    + '</StorageServiceProperties>';
}

function renderStored(value: unknown, fallback: string): string {
  return isXmlElement(value) ? renderElement(value) : fallback;
}

export function isXmlElement(value: unknown): value is XmlElement {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof XmlElement, unknown>>;
  return typeof candidate.name === 'string' && typeof candidate.text === 'string' && Array.isArray(candidate.children)
    && candidate.children.every(isXmlElement);
}

function renderElement(element: XmlElement): string {
  const inner = element.children.length > 0 ? element.children.map(renderElement).join('') : escapeXml(element.text);
  return inner === '' ? `<${element.name} />` : `<${element.name}>${inner}</${element.name}>`;
}
