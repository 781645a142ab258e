import {
  CLIP_DEFAULT_POST_SECONDS,
  CLIP_DEFAULT_PRE_SECONDS,
  CLIP_EVENT_TYPES,
  type ClipEventType,
  MediaStreamName,
  SOLAR_CAMERA_EVENT_TYPES,
} from '@vigil/protocol';
import { ServiceState, type ChannelSettingsBody } from '@vigil/protocol/api';
import type { cloudStorageChannels, devices } from '../db/schema.js';
import { isRecorder, VIDEO_KINDS } from '../video/devices.js';

/**
 * The per-channel cloud storage model shared by the routes and the configurator: what a device can do, the
 * settings a channel has before anyone set them, and when a channel records.
 */

type Device = Pick<typeof devices.$inferSelect, 'kind' | 'model' | 'name' | 'channels' | 'edgeSerial'>;
type ChannelRow = typeof cloudStorageChannels.$inferSelect;
export type Trigger = ChannelSettingsBody['triggers']['motion'];
/** Settings as stored and shown: every trigger spelled out. */
export type ChannelSettings = Omit<ChannelSettingsBody, 'triggers'> & { triggers: Record<ClipEventType, Trigger> };

/** Solar cameras (DS-2XS…) detect motion only. */
const SOLAR_MODEL = /^DS-2XS/i;

/** Bitrates the bandwidth test divides the uplink by (the portal's "definition" of each stream). */
export const STREAM_BITRATE_KBPS: Record<MediaStreamName, number> = { main: 4096, sub: 512 };
/** The share of the measured uplink the recommendation leaves to clips, the rest to everything else the site sends. */
const UPLINK_SHARE = 0.8;

const off: Trigger = { enabled: false, notifySurveillanceCenter: false };
export const DEFAULT_SETTINGS: ChannelSettings = {
  enabled: false,
  stream: MediaStreamName.sub,
  triggers: { motion: { enabled: true, notifySurveillanceCenter: true }, intrusion: off, lineCrossing: off },
  schedule: null,
  preSeconds: CLIP_DEFAULT_PRE_SECONDS,
  postSeconds: CLIP_DEFAULT_POST_SECONDS,
};

/** Cloud storage is for video devices reached through an edge box (devices added by IP/domain have none). */
export const cloudStorageCapable = (d: Device): d is Device & { edgeSerial: string } => VIDEO_KINDS.has(d.kind) && d.edgeSerial !== null;
/** A camera is its channel 1; a recorder has the channels it reported. */
export const channelCount = (d: Device): number => (isRecorder(d) ? d.channels : 1);
export const channelLabel = (d: Device, channel: number): string => (isRecorder(d) ? `${d.name} — channel ${channel}` : d.name);
export const supportedTriggers = (d: Pick<Device, 'model'>): ClipEventType[] => [...(SOLAR_MODEL.test(d.model) ? SOLAR_CAMERA_EVENT_TYPES : CLIP_EVENT_TYPES)];

/** The settings a channel has: those saved, or the defaults before any were. */
export function settingsOf(row: ChannelRow | undefined): ChannelSettings {
  if (!row) return DEFAULT_SETTINGS;
  const saved = row.triggers as ChannelSettingsBody['triggers'];
  return {
    enabled: row.enabled,
    stream: row.stream as MediaStreamName,
    triggers: { motion: saved.motion, intrusion: saved.intrusion ?? off, lineCrossing: saved.lineCrossing ?? off },
    schedule: row.schedule as ChannelSettings['schedule'],
    preSeconds: row.preSeconds,
    postSeconds: row.postSeconds,
  };
}

/** The body as it is stored: triggers left out are off. */
export const normalized = (body: ChannelSettingsBody): ChannelSettings => ({
  ...body,
  triggers: { motion: body.triggers.motion, intrusion: body.triggers.intrusion ?? off, lineCrossing: body.triggers.lineCrossing ?? off },
});

export function serviceState(row: Pick<ChannelRow, 'activatedAt' | 'expiresAt'> | undefined, now: Date): ServiceState {
  if (!row?.activatedAt || !row.expiresAt) return ServiceState.inactive;
  return row.expiresAt > now ? ServiceState.active : ServiceState.expired;
}

/** The events that make a clip: enabled, with "Notify Surveillance Center" among their linkages. */
export const clipTriggers = (s: ChannelSettings): ClipEventType[] =>
  CLIP_EVENT_TYPES.filter((t) => s.triggers[t].enabled && s.triggers[t].notifySurveillanceCenter);

export const isRecording = (s: ChannelSettings, state: ServiceState): boolean => s.enabled && state === ServiceState.active && clipTriggers(s).length > 0;

/** How many channels of each stream the measured uplink carries, and the stream to pick. */
export function recommendation(uploadKbps: number) {
  const fits = (stream: MediaStreamName) => Math.floor((UPLINK_SHARE * uploadKbps) / STREAM_BITRATE_KBPS[stream]);
  const main = fits(MediaStreamName.main);
  return { recommendedChannels: { main, sub: fits(MediaStreamName.sub) }, recommendedStream: main >= 1 ? MediaStreamName.main : MediaStreamName.sub };
}

/** The vault context of an NVR/DVR's cloud storage login: it opens for that device only. */
export const loginSealContext = (deviceId: string): string => `cloud-storage-login:${deviceId}`;
export interface RecorderLogin {
  username: string;
  password: string;
}
