// IMDS api-versions and which fields each one shows (shared/spec/scheduled-events.md §1, §2;
// Azure's instance-metadata-service.md "Versions" and scheduled-events.md "Version history").
// api-versions are ISO dates, so comparing the strings compares the dates.

export const INSTANCE_VERSIONS = [
  '2017-03-01', '2017-04-02', '2017-08-01', '2017-10-01', '2017-12-01', '2018-02-01', '2018-04-02', '2018-10-01',
  '2019-02-01', '2019-03-11', '2019-04-30', '2019-06-01', '2019-06-04', '2019-08-01', '2019-08-15', '2019-11-01',
  '2020-06-01', '2020-07-15', '2020-09-01', '2020-10-01', '2020-12-01', '2021-01-01', '2021-02-01', '2021-03-01',
  '2021-05-01', '2021-08-01', '2021-10-01', '2021-11-01', '2021-11-15', '2021-12-13', '2023-07-01',
] as const;

export const SCHEDULED_EVENTS_VERSIONS = [
  '2017-03-01', '2017-08-01', '2017-11-01', '2019-01-01', '2019-04-01', '2019-08-01', '2020-07-01',
] as const;

/** What the 400 for a missing or unknown api-version lists, as Azure does ("newest-versions"). */
export const NEWEST_VERSIONS = ['2023-07-01', '2021-12-13', '2021-11-15'] as const;

/** Every version any category accepts, for /metadata/versions. */
export const ALL_VERSIONS = [...new Set<string>([...INSTANCE_VERSIONS, ...SCHEDULED_EVENTS_VERSIONS])].sort();

/** Scheduled Events fields by the api-version that introduced them. */
export const EVENT_FIELD_SINCE = {
  Description: '2019-04-01',
  EventSource: '2019-08-01',
  DurationInSeconds: '2020-07-01',
} as const;

/** Instance (compute.*) fields newer than the category itself; absent before their version. */
export const INSTANCE_FIELD_SINCE: Readonly<Record<string, string>> = {
  placementGroupId: '2017-08-01',
  platformUpdateDomain: '2017-04-02',
  platformFaultDomain: '2017-04-02',
  publisher: '2017-04-02',
  offer: '2017-04-02',
  sku: '2017-04-02',
  tags: '2017-08-01',
  vmScaleSetName: '2017-12-01',
  zone: '2017-12-01',
  resourceGroupName: '2017-08-01',
  subscriptionId: '2017-08-01',
  azEnvironment: '2018-10-01',
  provider: '2018-10-01',
  publicKeys: '2018-04-02',
  resourceId: '2019-03-11',
  priority: '2019-06-04',
  evictionPolicy: '2019-06-04',
  tagsList: '2019-06-04',
  storageProfile: '2019-06-01',
  osProfile: '2020-07-15',
  isHostCompatibilityLayerVm: '2020-06-01',
  securityProfile: '2020-06-01',
  userData: '2021-01-01',
  platformSubFaultDomain: '2021-01-01',
  host: '2021-11-15',
};
