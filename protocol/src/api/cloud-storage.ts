import Type, { type Static, type TSchema } from 'typebox';
import {
  ArmingScheduleSchema,
  CLIP_MAX_POST_SECONDS,
  CLIP_MAX_PRE_SECONDS,
  ClipDropReason,
  ClipEventTypeSchema,
} from '../clips.js';
import { MediaStreamNameSchema } from '../media.js';
import { IsoDateSchema, literals, UuidSchema } from './common.js';

/**
 * Cloud Storage (manual §5.3, §3.2.1): packages the company holds, the per-channel settings of devices whose clips
 * the site's edge box records and uploads, the uplink bandwidth test, and the clips themselves (the event timeline,
 * playback, download, storage used).
 *
 *   GET    /api/v1/cloud-storage/packages                         the company's packages → PackagesReply
 *   POST   /api/v1/cloud-storage/packages                         PackageOrderBody → Package (an order: bought)
 *   GET    /api/v1/devices/:deviceId/cloud-storage                → DeviceCloudStorage
 *   PUT    /api/v1/devices/:deviceId/cloud-storage/channels/:channel    ChannelSettingsBody → CloudStorageChannel
 *   POST   /api/v1/devices/:deviceId/cloud-storage/channels/:channel/activate   ActivateBody → CloudStorageChannel
 *   PUT    /api/v1/devices/:deviceId/cloud-storage/login          RecorderLoginBody → 204 (NVR/DVR: how the box logs in)
 *   POST   /api/v1/devices/:deviceId/cloud-storage/bandwidth-test → BandwidthTest (runs on the box; the device is
 *                                                                  the box itself or one it reaches)
 *   GET    /api/v1/sites/:siteId/clips                            ClipsQuery → ClipsPage (the event timeline)
 *   GET    /api/v1/sites/:siteId/cloud-storage/usage              → StorageUsage
 *   GET    /api/v1/clips/:clipId/video                            video/mp4, Range requests; ?download=1 → attachment
 *   GET    /api/v1/clips/:clipId/thumbnail                        image/jpeg
 *
 * Settings, activation, login and the test need `device.configure`; clips need `video.playback`; packages are the
 * Installer Admin's (`accounts.manage`) to buy and anyone's of the company to see. Every route checks the site is
 * one the caller may see.
 */

export const RETENTION_DAYS = [7, 30, 90, 180, 365] as const;
export const PackageTerm = { monthly: 'monthly', annual: 'annual' } as const;
export type PackageTerm = (typeof PackageTerm)[keyof typeof PackageTerm];
export const RecordingMode = { event: 'event', continuous: 'continuous' } as const;
export type RecordingMode = (typeof RecordingMode)[keyof typeof RecordingMode];
/** A package comes from an order, or is granted (a key redeemed, a promotion, by the operator's command line). */
export const PackageOrigin = { purchased: 'purchased', granted: 'granted' } as const;
export type PackageOrigin = (typeof PackageOrigin)[keyof typeof PackageOrigin];

export const CloudStorageErrorCode = {
  /** No package of that id with a channel left. */
  noPackageLeft: 'CLOUD_STORAGE_NO_PACKAGE_LEFT',
  /** 24/7 recording is not offered through the box. */
  modeUnsupported: 'CLOUD_STORAGE_MODE_UNSUPPORTED',
  /** A trigger the device cannot detect (solar cameras: motion only). */
  triggerUnsupported: 'CLOUD_STORAGE_TRIGGER_UNSUPPORTED',
  /** Cloud storage is for devices reached through an edge box (added by P2P), and video devices only. */
  deviceUnsupported: 'CLOUD_STORAGE_DEVICE_UNSUPPORTED',
  /** The NVR/DVR's login for the box is not set. */
  loginMissing: 'CLOUD_STORAGE_LOGIN_MISSING',
  /** The channel is already active (extend by activating after it expires). */
  alreadyActive: 'CLOUD_STORAGE_ALREADY_ACTIVE',
  /** The box did not complete the test. */
  bandwidthTestFailed: 'BANDWIDTH_TEST_FAILED',
  clipNotFound: 'CLIP_NOT_FOUND',
} as const;
export type CloudStorageErrorCode = (typeof CloudStorageErrorCode)[keyof typeof CloudStorageErrorCode];

// Typed as one-element tuples: Static<> of a union over a plain array is `never` in typebox 1.x.
const RetentionDays = literals(RETENTION_DAYS);
const Channel = Type.Integer({ minimum: 1, maximum: 9999 });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const PackageSchema = Type.Object({
  id: UuidSchema,
  retentionDays: RetentionDays,
  term: Type.Union([Type.Literal('monthly'), Type.Literal('annual')]),
  mode: Type.Union([Type.Literal('event'), Type.Literal('continuous')]),
  origin: Type.Union([Type.Literal('purchased'), Type.Literal('granted')]),
  /** Channels the package covers, and how many are activated. */
  channels: Type.Integer({ minimum: 1 }),
  used: Type.Integer({ minimum: 0 }),
  createdAt: IsoDateSchema,
});
export type Package = Static<typeof PackageSchema>;
export const PackagesReplySchema = Type.Object({ items: Type.Array(PackageSchema) });

export const PackageOrderBodySchema = Type.Object(
  {
    retentionDays: RetentionDays,
    term: Type.Union([Type.Literal('monthly'), Type.Literal('annual')]),
    mode: Type.Union([Type.Literal('event'), Type.Literal('continuous')]),
    channels: Type.Integer({ minimum: 1, maximum: 1024 }),
  },
  { additionalProperties: false },
);
export type PackageOrderBody = Static<typeof PackageOrderBodySchema>;

/** One detection event of a channel, as the manual's event settings have it. */
export const EventTriggerSchema = Type.Object(
  {
    enabled: Type.Boolean(),
    /** The "Notify Surveillance Center" linkage: without it the channel records nothing for this event. */
    notifySurveillanceCenter: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const ChannelSettingsBodySchema = Type.Object(
  {
    /** The channel's Cloud Storage switch. */
    enabled: Type.Boolean(),
    /** Upload resolution: the main or the sub stream. */
    stream: MediaStreamNameSchema,
    triggers: Type.Object(
      { motion: EventTriggerSchema, intrusion: Type.Optional(EventTriggerSchema), lineCrossing: Type.Optional(EventTriggerSchema) },
      { additionalProperties: false },
    ),
    /** Null: armed all the time. The schedule's time zone is the site's. */
    // Omit drops `additionalProperties`: given again, so a stray field (a time zone) is refused.
    schedule: Nullable(Type.Omit(ArmingScheduleSchema, ['timeZone'], { additionalProperties: false })),
    preSeconds: Type.Integer({ minimum: 0, maximum: CLIP_MAX_PRE_SECONDS }),
    postSeconds: Type.Integer({ minimum: 1, maximum: CLIP_MAX_POST_SECONDS }),
  },
  { additionalProperties: false },
);
export type ChannelSettingsBody = Static<typeof ChannelSettingsBodySchema>;

export const ServiceState = { inactive: 'inactive', active: 'active', expired: 'expired' } as const;
export type ServiceState = (typeof ServiceState)[keyof typeof ServiceState];

export const CloudStorageChannelSchema = Type.Object({
  deviceId: UuidSchema,
  channel: Channel,
  /** "Camera 1" or "NVR 1 — channel 3". */
  label: Type.String(),
  settings: ChannelSettingsBodySchema,
  /** The triggers the device can detect (solar cameras: motion only). */
  supportedTriggers: Type.Array(ClipEventTypeSchema),
  service: Type.Object({
    state: Type.Union([Type.Literal('inactive'), Type.Literal('active'), Type.Literal('expired')]),
    packageId: Nullable(UuidSchema),
    retentionDays: Nullable(RetentionDays),
    activatedAt: Nullable(IsoDateSchema),
    expiresAt: Nullable(IsoDateSchema),
  }),
  /** Clips are being made: switch on, service active, at least one trigger with Notify Surveillance Center. */
  recording: Type.Boolean(),
  /** The box's view now: starting, buffering, failed, or idle when it records nothing for the channel; null when
   * the box was not reached. */
  boxState: Nullable(Type.String()),
});
export type CloudStorageChannel = Static<typeof CloudStorageChannelSchema>;

export const BandwidthTestSchema = Type.Object({
  testedAt: IsoDateSchema,
  uploadKbps: Type.Integer({ minimum: 0 }),
  /** floor(0.8 × measured / bitrate of the stream), per stream. */
  recommendedChannels: Type.Object({ main: Type.Integer({ minimum: 0 }), sub: Type.Integer({ minimum: 0 }) }),
  recommendedStream: MediaStreamNameSchema,
});
export type BandwidthTest = Static<typeof BandwidthTestSchema>;

export const DeviceCloudStorageSchema = Type.Object({
  deviceId: UuidSchema,
  /** The box that records and uploads for the device. */
  edgeSerial: Type.String(),
  /** NVR/DVR: whether the login for the box is set. */
  loginSet: Type.Boolean(),
  needsLogin: Type.Boolean(),
  channels: Type.Array(CloudStorageChannelSchema),
  lastBandwidthTest: Nullable(BandwidthTestSchema),
});
export type DeviceCloudStorage = Static<typeof DeviceCloudStorageSchema>;

export const ActivateBodySchema = Type.Object({ packageId: UuidSchema }, { additionalProperties: false });
export const RecorderLoginBodySchema = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const ClipsQuerySchema = Type.Object(
  {
    deviceId: Type.Optional(UuidSchema),
    channel: Type.Optional(Channel),
    type: Type.Optional(ClipEventTypeSchema),
    from: Type.Optional(IsoDateSchema),
    to: Type.Optional(IsoDateSchema),
    /** The `next` of the previous page. */
    before: Type.Optional(Type.String({ maxLength: 128 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  },
  { additionalProperties: false },
);
export type ClipsQuery = Static<typeof ClipsQuerySchema>;

/** One entry of the timeline: a stored clip, or an event the box could not bring to the cloud. */
export const ClipSchema = Type.Object({
  id: UuidSchema,
  deviceId: UuidSchema,
  deviceName: Type.String(),
  channel: Channel,
  eventTypes: Type.Array(ClipEventTypeSchema),
  /** The first event's time. */
  eventAt: IsoDateSchema,
  startAt: IsoDateSchema,
  endAt: IsoDateSchema,
  durationSeconds: Type.Number(),
  partial: Type.Boolean(),
  bytes: Type.Integer(),
  /** When retention deletes it. */
  expiresAt: IsoDateSchema,
  videoUrl: Type.String(),
  thumbnailUrl: Type.String(),
});
export type Clip = Static<typeof ClipSchema>;

export const ClipDropSchema = Type.Object({
  deviceId: UuidSchema,
  channel: Channel,
  eventTypes: Type.Array(ClipEventTypeSchema),
  eventAt: IsoDateSchema,
  reason: literals(Object.values(ClipDropReason)),
  message: Type.String(),
  droppedAt: IsoDateSchema,
});
export type ClipDrop = Static<typeof ClipDropSchema>;

export const ClipsPageSchema = Type.Object({
  items: Type.Array(ClipSchema),
  /** Events of the same range the box gave up, newest first. */
  drops: Type.Array(ClipDropSchema),
  next: Nullable(Type.String()),
});
export type ClipsPage = Static<typeof ClipsPageSchema>;

export const StorageUsageSchema = Type.Object({
  bytes: Type.Integer({ minimum: 0 }),
  clips: Type.Integer({ minimum: 0 }),
  channels: Type.Array(
    Type.Object({ deviceId: UuidSchema, channel: Channel, label: Type.String(), bytes: Type.Integer(), clips: Type.Integer() }),
  ),
});
export type StorageUsage = Static<typeof StorageUsageSchema>;
