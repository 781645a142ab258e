import type { ClipDropReason, ClipEventType, MediaStreamName } from '@vigil/protocol';
import {
  ChannelSettingsBodySchema,
  type BandwidthTest,
  type ChannelSettingsBody,
  type ClipsPage,
  type ClipsQuery,
  type CloudStorageChannel,
  type DeviceCloudStorage,
  type Package,
  type PackageOrderBody,
  type StorageUsage,
} from '@vigil/protocol/api';
import { request } from './api';

/** The portal's Cloud Storage calls (protocol/src/api/cloud-storage.ts). */
const enc = encodeURIComponent;

export const cloudStorageApi = {
  packages: () => request<{ items: Package[] }>('GET', '/cloud-storage/packages'),
  orderPackage: (body: PackageOrderBody) => request<Package>('POST', '/cloud-storage/packages', { body }),
  device: (deviceId: string) => request<DeviceCloudStorage>('GET', `/devices/${enc(deviceId)}/cloud-storage`),
  saveChannel: (deviceId: string, channel: number, body: ChannelSettingsBody) =>
    request<CloudStorageChannel>('PUT', `/devices/${enc(deviceId)}/cloud-storage/channels/${channel}`, { body }),
  activate: (deviceId: string, channel: number, packageId: string) =>
    request<CloudStorageChannel>('POST', `/devices/${enc(deviceId)}/cloud-storage/channels/${channel}/activate`, { body: { packageId } }),
  setRecorderLogin: (deviceId: string, body: { username: string; password: string }) =>
    request<void>('PUT', `/devices/${enc(deviceId)}/cloud-storage/login`, { body }),
  bandwidthTest: (deviceId: string) => request<BandwidthTest>('POST', `/devices/${enc(deviceId)}/cloud-storage/bandwidth-test`),
  clips: (siteId: string, query: ClipsQuery) => request<ClipsPage>('GET', `/sites/${enc(siteId)}/clips`, { query: { ...query } }),
  usage: (siteId: string) => request<StorageUsage>('GET', `/sites/${enc(siteId)}/cloud-storage/usage`),
};

export const EVENT_TYPE_LABELS: Record<ClipEventType, string> = {
  motion: 'Motion detection',
  intrusion: 'Intrusion',
  lineCrossing: 'Line crossing',
};
/** In the order the manual lists them. */
export const EVENT_TYPES = Object.keys(EVENT_TYPE_LABELS) as ClipEventType[];

export const STREAM_LABELS: Record<MediaStreamName, string> = {
  main: 'High definition (main stream)',
  sub: 'Standard definition (sub stream)',
};

export const DROP_REASON_LABELS: Record<ClipDropReason, string> = {
  quota: "the edge box's clip storage was full",
  refused: 'refused by the cloud',
  recording_failed: 'nothing could be recorded',
};

export const TERM_LABELS: Record<Package['term'], string> = { monthly: 'Monthly', annual: 'Annual' };
export const MODE_LABELS: Record<Package['mode'], string> = { event: 'Event recording', continuous: '24/7 recording' };
export const ORIGIN_LABELS: Record<Package['origin'], string> = { purchased: 'Purchased', granted: 'Granted' };

/** A bound the contract's schema states (its JSON Schema keyword, there at run time). */
function schemaLimit(schema: object, keyword: 'minimum' | 'maximum'): number {
  const value = (schema as Partial<Record<'minimum' | 'maximum', unknown>>)[keyword];
  if (typeof value !== 'number') throw new Error(`The schema states no ${keyword}.`);
  return value;
}

/** The contract's limits for the seconds kept before and after an event. */
export const PRE_SECONDS_MAX = schemaLimit(ChannelSettingsBodySchema.properties.preSeconds, 'maximum');
export const POST_SECONDS_MAX = schemaLimit(ChannelSettingsBodySchema.properties.postSeconds, 'maximum');
export const POST_SECONDS_MIN = schemaLimit(ChannelSettingsBodySchema.properties.postSeconds, 'minimum');

/** Days 1 = Monday … 7 = Sunday, as the arming schedule counts them. */
export const WEEKDAYS: { day: number; short: string; long: string }[] = [
  { day: 1, short: 'Mon', long: 'Monday' },
  { day: 2, short: 'Tue', long: 'Tuesday' },
  { day: 3, short: 'Wed', long: 'Wednesday' },
  { day: 4, short: 'Thu', long: 'Thursday' },
  { day: 5, short: 'Fri', long: 'Friday' },
  { day: 6, short: 'Sat', long: 'Saturday' },
  { day: 7, short: 'Sun', long: 'Sunday' },
];

/** A schedule period as the form edits it: times as "HH:MM", an end of "00:00" meaning midnight at the day's end. */
export interface PeriodDraft {
  days: number[];
  start: string;
  end: string;
}

export function minutesToTime(minutes: number): string {
  const m = minutes % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/** Minutes from midnight of "HH:MM"; null when it is not a time. */
export function timeToMinutes(value: string): number | null {
  const m = /^(\d{2}):(\d{2})(?::\d{2})?$/.exec(value);
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  return h < 24 && min < 60 ? h * 60 + min : null;
}

/** What is wrong with a period, or null; `end` 00:00 is the end of the day. */
export function periodProblem(period: PeriodDraft): string | null {
  if (period.days.length === 0) return 'Choose at least one day.';
  const start = timeToMinutes(period.start);
  const end = timeToMinutes(period.end);
  if (start === null || end === null) return 'Enter the start and end times.';
  if ((end === 0 ? 1440 : end) <= start) return 'The end must be after the start.';
  return null;
}

export function periodToBody(period: PeriodDraft): { days: number[]; start: number; end: number } {
  const end = timeToMinutes(period.end) ?? 0;
  return { days: [...period.days].sort((a, b) => a - b), start: timeToMinutes(period.start) ?? 0, end: end === 0 ? 1440 : end };
}

export function periodFromBody(period: { days: number[]; start: number; end: number }): PeriodDraft {
  return { days: [...period.days], start: minutesToTime(period.start), end: minutesToTime(period.end) };
}

/** "Mon–Fri 08:00–18:00" for a period of the schedule. */
export function describePeriod(period: { days: number[]; start: number; end: number }): string {
  const days = WEEKDAYS.filter((d) => period.days.includes(d.day)).map((d) => d.short).join(', ');
  return `${days} ${minutesToTime(period.start)}–${period.end === 1440 ? '24:00' : minutesToTime(period.end)}`;
}

/** Megabits per second from the box's kilobits, as the bandwidth test shows them. */
export function formatMbps(kbps: number): string {
  const mbps = kbps / 1000;
  return `${mbps.toFixed(mbps < 10 ? 2 : 1)} Mbps`;
}

/** Triggers that are on but record nothing, because their "Notify Surveillance Center" linkage is off. */
export function silentTriggers(settings: ChannelSettingsBody, supported: readonly ClipEventType[]): ClipEventType[] {
  return supported.filter((type) => {
    const trigger = settings.triggers[type];
    return trigger?.enabled === true && !trigger.notifySurveillanceCenter;
  });
}

/** The address that makes the browser save a clip rather than play it. */
export function downloadUrl(videoUrl: string): string {
  return `${videoUrl}${videoUrl.includes('?') ? '&' : '?'}download=1`;
}
