// The string-to-sign of each SAS kind and signed version (`sv`), as tables of field names.
//
// Follows spec/versioning-softdelete.md §10.1–10.3 and, where the docs lag, what @azure/storage-blob
// 12.32 signs (sas/BlobSASSignatureValues.ts, sas/AccountSASSignatureValues.ts) and Azurite accepts.
//
// Every layout is its fields joined by `\n`; an absent field is an empty line. Layouts only ever
// grew by inserting fields, so each table row below is "the row under it plus the starred fields":
//
//   service SAS (account key)
//     2015-04-05  sp st se resource si sip spr sv                               rscc rscd rsce rscl rsct
//     2018-11-09  sp st se resource si sip spr sv *sr *snapshotTime             rscc rscd rsce rscl rsct
//     2020-12-06  sp st se resource si sip spr sv  sr  snapshotTime *ses        rscc rscd rsce rscl rsct
//
//   user delegation SAS (user delegation key); key = skoid sktid skt ske sks skv
//     2018-11-09  sp st se resource key                                   sip spr sv sr snapshotTime                rscc … rsct
//     2020-02-10  sp st se resource key *saoid *suoid *scid               sip spr sv sr snapshotTime                rscc … rsct
//     2020-12-06  sp st se resource key  saoid  suoid  scid               sip spr sv sr snapshotTime *ses           rscc … rsct
//     2025-07-05  sp st se resource key  saoid  suoid  scid *skdutid *sduoid sip spr sv sr snapshotTime ses         rscc … rsct
//     2026-04-06  sp st se resource key  saoid  suoid  scid  skdutid  sduoid sip spr sv sr snapshotTime ses *srh *srq rscc … rsct
//
//   account SAS (account key); note the trailing empty line
//     2015-04-05  account sp ss srt st se sip spr sv      ""
//     2020-12-06  account sp ss srt st se sip spr sv *ses ""
//
// Derived fields (not query parameters):
// - resource: `/blob/{account}/{container}` for sr=c; `/blob/{account}/{container}/{blob}` for b, bs, bv
//   (blob name unencoded, account never doubled); for sr=d the blob name's first `sdd` segments.
// - snapshotTime: the request's `snapshot` for sr=bs, its `versionid` for sr=bv, else empty.
// - srh: `name:value\n` per header named in srh; srq: `\nname:value` per query parameter named in
//   srq; values from the request (the SDK formats them this way, then joins with `\n` like the rest).
//
// A newer `sv` than any row uses the newest row; an older one than the oldest never parses.

import type { ParsedSas, ServiceSas, UserDelegationSas } from './sas-parse.js';

/** What a SAS request addresses; the signed resource and snapshot time are derived from it. */
export interface SasTarget {
  container?: string;
  /** The blob name, unencoded. */
  blob?: string;
  /** The request's `snapshot` / `versionid` query values. */
  snapshot?: string;
  versionId?: string;
}

export interface SasSigningContext {
  accountName: string;
  target: SasTarget;
  /** Header names lower-case. Read only for user delegation SAS with `srh` (2026-04-06+). */
  headers?: Readonly<Record<string, string | undefined>>;
  /** Decoded query parameters. Read only for user delegation SAS with `srq` (2026-04-06+). */
  query?: ReadonlyArray<readonly [string, string]>;
}

type ResponseField = 'rscc' | 'rscd' | 'rsce' | 'rscl' | 'rsct';
type CommonField = 'sp' | 'st' | 'se' | 'sip' | 'spr' | 'sv' | 'ses' | 'empty';
type ServiceField = CommonField | ResponseField | 'resource' | 'si' | 'sr' | 'snapshotTime';
type UserDelegationField =
  | CommonField | ResponseField | 'resource' | 'sr' | 'snapshotTime'
  | 'skoid' | 'sktid' | 'skt' | 'ske' | 'sks' | 'skv' | 'saoid' | 'suoid' | 'scid' | 'skdutid' | 'sduoid' | 'srh' | 'srq';
type AccountField = CommonField | 'account' | 'ss' | 'srt';

interface Layout<Field> {
  since: string;
  fields: readonly Field[];
}

const RESPONSE_FIELDS = ['rscc', 'rscd', 'rsce', 'rscl', 'rsct'] as const;
const KEY_FIELDS = ['skoid', 'sktid', 'skt', 'ske', 'sks', 'skv'] as const;

/** Newest first: the first row whose `since` is not after `sv` applies. */
const SERVICE_LAYOUTS: ReadonlyArray<Layout<ServiceField>> = [
  { since: '2020-12-06', fields: ['sp', 'st', 'se', 'resource', 'si', 'sip', 'spr', 'sv', 'sr', 'snapshotTime', 'ses', ...RESPONSE_FIELDS] },
  { since: '2018-11-09', fields: ['sp', 'st', 'se', 'resource', 'si', 'sip', 'spr', 'sv', 'sr', 'snapshotTime', ...RESPONSE_FIELDS] },
  { since: '2015-04-05', fields: ['sp', 'st', 'se', 'resource', 'si', 'sip', 'spr', 'sv', ...RESPONSE_FIELDS] },
];

const USER_DELEGATION_LAYOUTS: ReadonlyArray<Layout<UserDelegationField>> = [
  {
    since: '2026-04-06',
    fields: ['sp', 'st', 'se', 'resource', ...KEY_FIELDS, 'saoid', 'suoid', 'scid', 'skdutid', 'sduoid',
      'sip', 'spr', 'sv', 'sr', 'snapshotTime', 'ses', 'srh', 'srq', ...RESPONSE_FIELDS],
  },
  {
    since: '2025-07-05',
    fields: ['sp', 'st', 'se', 'resource', ...KEY_FIELDS, 'saoid', 'suoid', 'scid', 'skdutid', 'sduoid',
      'sip', 'spr', 'sv', 'sr', 'snapshotTime', 'ses', ...RESPONSE_FIELDS],
  },
  {
    since: '2020-12-06',
    fields: ['sp', 'st', 'se', 'resource', ...KEY_FIELDS, 'saoid', 'suoid', 'scid',
      'sip', 'spr', 'sv', 'sr', 'snapshotTime', 'ses', ...RESPONSE_FIELDS],
  },
  {
    since: '2020-02-10',
    fields: ['sp', 'st', 'se', 'resource', ...KEY_FIELDS, 'saoid', 'suoid', 'scid',
      'sip', 'spr', 'sv', 'sr', 'snapshotTime', ...RESPONSE_FIELDS],
  },
  {
    since: '2018-11-09',
    fields: ['sp', 'st', 'se', 'resource', ...KEY_FIELDS, 'sip', 'spr', 'sv', 'sr', 'snapshotTime', ...RESPONSE_FIELDS],
  },
];

const ACCOUNT_LAYOUTS: ReadonlyArray<Layout<AccountField>> = [
  { since: '2020-12-06', fields: ['account', 'sp', 'ss', 'srt', 'st', 'se', 'sip', 'spr', 'sv', 'ses', 'empty'] },
  { since: '2015-04-05', fields: ['account', 'sp', 'ss', 'srt', 'st', 'se', 'sip', 'spr', 'sv', 'empty'] },
];

/**
 * The string the client signed, or undefined when the target cannot hold the signed resource
 * (no container, or no blob for sr=b/bs/bv/d, or a path shallower than sdd).
 */
export function sasStringToSign(sas: ParsedSas, context: SasSigningContext): string | undefined {
  switch (sas.kind) {
    case 'account': {
      const values: Record<AccountField, string | undefined> = {
        ...commonValues(sas), account: context.accountName, ss: sas.services, srt: sas.resourceTypes,
      };
      return join(layoutFor(ACCOUNT_LAYOUTS, sas.version), values);
    }
    case 'service': {
      const resource = canonicalizedResource(sas, context);
      if (resource === undefined) return undefined;
      const values: Record<ServiceField, string | undefined> = {
        ...commonValues(sas), ...responseValues(sas), resource, si: sas.identifier, sr: sas.resource,
        snapshotTime: signedSnapshotTime(sas, context.target),
      };
      return join(layoutFor(SERVICE_LAYOUTS, sas.version), values);
    }
    case 'user-delegation': {
      const resource = canonicalizedResource(sas, context);
      if (resource === undefined) return undefined;
      return join(layoutFor(USER_DELEGATION_LAYOUTS, sas.version), userDelegationValues(sas, context, resource));
    }
  }
}

function userDelegationValues(
  sas: UserDelegationSas,
  context: SasSigningContext,
  resource: string,
): Record<UserDelegationField, string | undefined> {
  const { key } = sas;
  return {
    ...commonValues(sas),
    ...responseValues(sas),
    resource,
    sr: sas.resource,
    snapshotTime: signedSnapshotTime(sas, context.target),
    skoid: key.signedObjectId,
    sktid: key.signedTenantId,
    skt: key.signedStartsOn,
    ske: key.signedExpiresOn,
    sks: key.signedService,
    skv: key.signedVersion,
    saoid: sas.preauthorizedAgentObjectId,
    suoid: sas.agentObjectId,
    scid: sas.correlationId,
    skdutid: sas.delegatedUserTenantId,
    sduoid: sas.delegatedUserObjectId,
    srh: signedRequestHeaders(sas.signedRequestHeaders, context.headers ?? {}),
    srq: signedRequestQuery(sas.signedRequestQuery, context.query ?? []),
  };
}

function commonValues(sas: ParsedSas): Record<CommonField, string | undefined> {
  return {
    sp: sas.permissions, st: sas.startsOn, se: sas.expiresOn, sip: sas.ipRange, spr: sas.protocol,
    sv: sas.version, ses: sas.encryptionScope, empty: '',
  };
}

function responseValues(sas: ServiceSas | UserDelegationSas): Record<ResponseField, string | undefined> {
  const headers = sas.responseHeaders;
  return {
    rscc: headers.cacheControl, rscd: headers.contentDisposition, rsce: headers.contentEncoding,
    rscl: headers.contentLanguage, rsct: headers.contentType,
  };
}

function layoutFor<Field>(layouts: ReadonlyArray<Layout<Field>>, version: string): Layout<Field> {
  // parseSas rejects versions older than the oldest row, so the fallback is never used for signing.
  return layouts.find((layout) => layout.since <= version) ?? layouts[layouts.length - 1] ?? { since: '', fields: [] };
}

function join<Field extends string>(layout: Layout<Field>, values: Readonly<Record<Field, string | undefined>>): string {
  return layout.fields.map((field) => values[field] ?? '').join('\n');
}

function canonicalizedResource(sas: ServiceSas | UserDelegationSas, context: SasSigningContext): string | undefined {
  const { container, blob } = context.target;
  if (container === undefined || container === '') return undefined;
  const containerPath = `/blob/${context.accountName}/${container}`;
  if (sas.resource === 'c') return containerPath;
  if (blob === undefined || blob === '') return undefined;
  if (sas.resource !== 'd') return `${containerPath}/${blob}`;
  const segments = blob.split('/');
  const depth = sas.directoryDepth ?? 0;
  return segments.length < depth ? undefined : `${containerPath}/${segments.slice(0, depth).join('/')}`;
}

function signedSnapshotTime(sas: ServiceSas | UserDelegationSas, target: SasTarget): string | undefined {
  if (sas.resource === 'bs') return target.snapshot;
  if (sas.resource === 'bv') return target.versionId;
  return undefined;
}

function signedRequestHeaders(names: string | undefined, headers: Readonly<Record<string, string | undefined>>): string | undefined {
  if (names === undefined) return undefined;
  return names.split(',').map((name) => `${name}:${headers[name.toLowerCase()] ?? ''}\n`).join('');
}

function signedRequestQuery(names: string | undefined, query: ReadonlyArray<readonly [string, string]>): string | undefined {
  if (names === undefined) return undefined;
  return names.split(',').map((name) => `\n${name}:${query.find(([queryName]) => queryName === name)?.[1] ?? ''}`).join('');
}
