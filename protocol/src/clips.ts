import Type, { type Static, type TLiteral } from 'typebox';
import { MediaSourceSchema, MediaStreamNameSchema } from './media.js';

/**
 * Event clips through the edge box (manual §5.3, §3.2.1 "Cloud storage"): for each channel whose cloud storage is
 * on and whose service is active, the cloud pushes its settings to the box that reaches it (`clips.configure`).
 * The box keeps a pre-event ring buffer of the channel's stream, cuts a clip of pre + post seconds around each
 * event it is told to record (motion, intrusion, line crossing with "Notify Surveillance Center" set, inside the
 * arming schedule), writes it to disk, and uploads it to the cloud through a durable, resumable queue (below).
 * What the box had to give up (disk quota, refused by the cloud, recording failed) is reported as a
 * `clip.dropped` event through the outbox, never silently lost.
 *
 * Upload protocol, box → cloud over HTTP(S), base `uploadUrl` of `clips.configure` (e.g.
 * `https://cloud.example/api/v1/edge/clips`), authenticated with the box's own credentials
 * (`Authorization: Basic base64(serial:secret)`, the MQTT login). Each clip has two parts, `video` (MP4) and
 * `thumbnail` (JPEG), each uploaded from an offset, so an upload cut at any point resumes where the cloud's copy
 * ends:
 *
 *   POST  {uploadUrl}                      ClipUploadCreate → 201 ClipUploadState (200 when the clip exists: same clipId)
 *   GET   {uploadUrl}/{clipId}             → 200 ClipUploadState, 404 when unknown
 *   PATCH {uploadUrl}/{clipId}/{part}      header `Upload-Offset: n`, `Content-Type: application/offset+octet-stream`,
 *                                          body the bytes from n → 200 ClipUploadState; 409 ClipUploadRefusal with
 *                                          `state` when n is not the cloud's offset; when a part is whole the cloud
 *                                          checks its sha256 (422 CHECKSUM_MISMATCH and the part starts again from 0)
 *   POST  {uploadUrl}/bandwidth-test       any body, read and discarded → 200 BandwidthProbeReply
 *
 * The clip is indexed (visible in the portal) once both parts are whole and verified; a clip id is the box's, so
 * sending a clip again after a lost reply never makes a second one.
 */

export const ClipEventType = { motion: 'motion', intrusion: 'intrusion', lineCrossing: 'lineCrossing' } as const;
export type ClipEventType = (typeof ClipEventType)[keyof typeof ClipEventType];
export const CLIP_EVENT_TYPES = Object.values(ClipEventType);
/** Solar cameras detect motion only (manual §3.2.1). */
export const SOLAR_CAMERA_EVENT_TYPES: readonly ClipEventType[] = [ClipEventType.motion];

/** Project defaults (the manual gives none): 5 s before the event, 10 s after, 60 s at most per clip. */
export const CLIP_DEFAULT_PRE_SECONDS = 5;
export const CLIP_DEFAULT_POST_SECONDS = 10;
export const CLIP_MAX_PRE_SECONDS = 30;
export const CLIP_MAX_POST_SECONDS = 60;
export const CLIP_MAX_LENGTH_SECONDS = 60;
/** The largest part the cloud takes (a 60 s clip of an 8 Mbps stream is about 60 MB). */
export const CLIP_MAX_VIDEO_BYTES = 256 * 1024 * 1024;
export const CLIP_MAX_THUMBNAIL_BYTES = 2 * 1024 * 1024;

// Typed as one-element tuples: Static<> of a union over a plain array is `never` in typebox 1.x.
const literals = <T extends string>(values: readonly T[]) => values.map((v) => Type.Literal(v)) as unknown as [TLiteral<T>];
export const ClipEventTypeSchema = Type.Union(literals(CLIP_EVENT_TYPES));
const Epoch = Type.Integer({ minimum: 0, description: 'milliseconds since the Unix epoch' });
const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });
/** `<deviceId>:<channel>`: the cloud's device id and the channel number (1 for a camera). */
export const CHANNEL_KEY_PATTERN = '^[0-9a-f-]{36}:[1-9][0-9]{0,3}$';
export const ChannelKeySchema = Type.String({ pattern: CHANNEL_KEY_PATTERN });
export const channelKeyOf = (deviceId: string, channel: number): string => `${deviceId}:${channel}`;
/** The device id and channel number of a key that matched CHANNEL_KEY_PATTERN. */
export function parseChannelKey(key: string): { deviceId: string; channel: number } {
  const at = key.lastIndexOf(':');
  return { deviceId: key.slice(0, at), channel: Number(key.slice(at + 1)) };
}

/**
 * When events are recorded: periods of the week in the site's time zone (days 1 = Monday … 7 = Sunday, minutes
 * from midnight, `end` after `start`, up to 1440). No periods: never; a null schedule: all the time.
 */
export const ArmingScheduleSchema = Type.Object(
  {
    timeZone: Type.String({ minLength: 1, maxLength: 64 }),
    periods: Type.Array(
      Type.Object(
        {
          days: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { minItems: 1, maxItems: 7, uniqueItems: true }),
          start: Type.Integer({ minimum: 0, maximum: 1439 }),
          end: Type.Integer({ minimum: 1, maximum: 1440 }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 56 },
    ),
  },
  { additionalProperties: false },
);
export type ArmingSchedule = Static<typeof ArmingScheduleSchema>;

// ------------------------------------------------------------------------------------------------ clips.configure

/** One channel the box records for: it is listed only while its cloud storage is on and its service active. */
export const ClipChannelConfigSchema = Type.Object(
  {
    channelKey: ChannelKeySchema,
    /** Where the stream comes from; recorder channels carry the login the installer gave for cloud storage. */
    source: MediaSourceSchema,
    /** The upload resolution: the main or the sub stream. */
    stream: MediaStreamNameSchema,
    /** The events that make a clip: those enabled with "Notify Surveillance Center" among their linkages. */
    triggers: Type.Array(ClipEventTypeSchema, { maxItems: CLIP_EVENT_TYPES.length, uniqueItems: true }),
    schedule: Type.Union([ArmingScheduleSchema, Type.Null()]),
    preSeconds: Type.Integer({ minimum: 0, maximum: CLIP_MAX_PRE_SECONDS }),
    postSeconds: Type.Integer({ minimum: 1, maximum: CLIP_MAX_POST_SECONDS }),
    /** The service's expiry: events after it make no clip. */
    activeUntil: Epoch,
  },
  { additionalProperties: false },
);
export type ClipChannelConfig = Static<typeof ClipChannelConfigSchema>;

export const ClipsConfigureParamsSchema = Type.Object(
  {
    /** Where clips go (see above). */
    uploadUrl: Type.String({ pattern: '^https?://', maxLength: 2048 }),
    /** The most the box's uploads may take of its uplink; null: no limit. */
    uploadLimitKbps: Type.Union([Type.Integer({ minimum: 64, maximum: 1_000_000 }), Type.Null()]),
    channels: Type.Array(ClipChannelConfigSchema, { maxItems: 256 }),
  },
  { additionalProperties: false },
);
export type ClipsConfigureParams = Static<typeof ClipsConfigureParamsSchema>;
export const ClipsConfigureResultSchema = Type.Object({ channels: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });

// ------------------------------------------------------------------------------------------------ clips.status

export const ClipChannelStateSchema = Type.Union(literals(['starting', 'buffering', 'failed'] as const));
export const ClipsStatusResultSchema = Type.Object(
  {
    channels: Type.Array(
      Type.Object({
        channelKey: ChannelKeySchema,
        /** The ring buffer: its stream is being opened, it holds footage, or the stream failed (and is retried). */
        state: ClipChannelStateSchema,
        /** The device's event subscription is up. */
        eventsSubscribed: Type.Boolean(),
        lastEventAt: Type.Union([Epoch, Type.Null()]),
        lastClipAt: Type.Union([Epoch, Type.Null()]),
        error: Type.Optional(Type.String({ maxLength: 1024 })),
      }),
    ),
    queue: Type.Object({
      /** Clips on disk waiting for upload (or being uploaded). */
      clips: Type.Integer({ minimum: 0 }),
      bytes: Type.Integer({ minimum: 0 }),
      oldestEventAt: Type.Union([Epoch, Type.Null()]),
      /** Clips given up since the box started (each reported as `clip.dropped`). */
      dropped: Type.Integer({ minimum: 0 }),
      quotaBytes: Type.Integer({ minimum: 0 }),
    }),
  },
  { additionalProperties: false },
);
export type ClipsStatusResult = Static<typeof ClipsStatusResultSchema>;

// ------------------------------------------------------------------------------------------------ clips.bandwidthTest

/** The uplink bandwidth test (manual §5.3.3): the box uploads for `seconds` to `{url}/bandwidth-test`. */
export const ClipsBandwidthTestParamsSchema = Type.Object(
  {
    uploadUrl: Type.String({ pattern: '^https?://', maxLength: 2048 }),
    seconds: Type.Integer({ minimum: 1, maximum: 30 }),
  },
  { additionalProperties: false },
);
export const ClipsBandwidthTestResultSchema = Type.Union([
  Type.Object(
    { ok: Type.Literal(true), uploadKbps: Type.Integer({ minimum: 0 }), bytes: Type.Integer({ minimum: 0 }), ms: Type.Integer({ minimum: 0 }) },
    { additionalProperties: false },
  ),
  Type.Object({ ok: Type.Literal(false), message: Type.String({ maxLength: 1024 }) }, { additionalProperties: false }),
]);
export type ClipsBandwidthTestResult = Static<typeof ClipsBandwidthTestResultSchema>;
export const BandwidthProbeReplySchema = Type.Object({ bytes: Type.Integer({ minimum: 0 }), ms: Type.Integer({ minimum: 0 }) });

// ------------------------------------------------------------------------------------------------ upload

export const ClipPart = { video: 'video', thumbnail: 'thumbnail' } as const;
export type ClipPart = (typeof ClipPart)[keyof typeof ClipPart];

const PartSpec = (maxBytes: number) => Type.Object({ bytes: Type.Integer({ minimum: 1, maximum: maxBytes }), sha256: Sha256 }, { additionalProperties: false });

export const ClipUploadCreateSchema = Type.Object(
  {
    /** Made by the box: sending the same clip again finds the first upload. */
    clipId: Type.String({ format: 'uuid' }),
    channelKey: ChannelKeySchema,
    /** Every event merged into the clip, oldest first, with its type (box clock). */
    events: Type.Array(Type.Object({ type: ClipEventTypeSchema, at: Epoch }, { additionalProperties: false }), { minItems: 1, maxItems: 256 }),
    /** The footage's first and last times, and its length without the gaps. */
    startAt: Epoch,
    endAt: Epoch,
    durationSeconds: Type.Number({ minimum: 0, maximum: 3600 }),
    /** Part of the range asked for had no footage (the stream was down). */
    partial: Type.Boolean(),
    video: PartSpec(CLIP_MAX_VIDEO_BYTES),
    thumbnail: PartSpec(CLIP_MAX_THUMBNAIL_BYTES),
  },
  { additionalProperties: false },
);
export type ClipUploadCreate = Static<typeof ClipUploadCreateSchema>;

const PartState = Type.Object({ offset: Type.Integer({ minimum: 0 }), bytes: Type.Integer({ minimum: 1 }) });
export const ClipUploadStateSchema = Type.Object({
  clipId: Type.String({ format: 'uuid' }),
  video: PartState,
  thumbnail: PartState,
  /** Both parts are whole and verified: the clip is in the index. */
  complete: Type.Boolean(),
});
export type ClipUploadState = Static<typeof ClipUploadStateSchema>;

/** Why the cloud refuses an upload; the box drops (and reports) the clip on the `final` ones, retries the others. */
export const ClipUploadRefusal = {
  /** The channel is not this box's, or its cloud storage is off. Final. */
  channelUnknown: 'CLIP_CHANNEL_UNKNOWN',
  /** The channel's service was not active at the event's time (expired or never activated). Final. */
  serviceInactive: 'CLIP_SERVICE_INACTIVE',
  /** Malformed or too large. Final. */
  invalid: 'CLIP_INVALID',
  /** The offset is not the cloud's: the box carries on from `state`. */
  offsetMismatch: 'CLIP_OFFSET_MISMATCH',
  /** The part's bytes did not match its sha256: the part starts again from 0. */
  checksumMismatch: 'CLIP_CHECKSUM_MISMATCH',
  /** The same clip id with different metadata. Final. */
  conflict: 'CLIP_CONFLICT',
} as const;
export type ClipUploadRefusal = (typeof ClipUploadRefusal)[keyof typeof ClipUploadRefusal];
export const FINAL_CLIP_REFUSALS: readonly ClipUploadRefusal[] = [
  ClipUploadRefusal.channelUnknown,
  ClipUploadRefusal.serviceInactive,
  ClipUploadRefusal.invalid,
  ClipUploadRefusal.conflict,
];
export const ClipUploadRefusalSchema = Type.Object({
  code: Type.String({ maxLength: 64 }),
  message: Type.String({ maxLength: 1024 }),
  state: Type.Optional(ClipUploadStateSchema),
});

// ------------------------------------------------------------------------------------------------ reports

/** An `edge.event` with this `details.kind` reports a clip the box gave up. */
export const CLIP_DROPPED_EVENT = 'clip.dropped';
export const ClipDropReason = {
  /** The clip queue reached the box's disk quota: the oldest waiting clips went first. */
  quota: 'quota',
  /** The cloud refused the clip for good (the refusal code is in `message`). */
  refused: 'refused',
  /** No footage could be recorded for the event (stream down the whole time, ffmpeg failed). */
  recordingFailed: 'recording_failed',
} as const;
export type ClipDropReason = (typeof ClipDropReason)[keyof typeof ClipDropReason];
export const ClipDroppedReportSchema = Type.Object(
  {
    clipId: Type.Optional(Type.String({ format: 'uuid' })),
    channelKey: ChannelKeySchema,
    events: Type.Array(Type.Object({ type: ClipEventTypeSchema, at: Epoch }, { additionalProperties: false }), { minItems: 1, maxItems: 256 }),
    reason: Type.Union(literals(Object.values(ClipDropReason))),
    message: Type.String({ maxLength: 1024 }),
    /** The size of what was dropped (0 when nothing was recorded). */
    bytes: Type.Integer({ minimum: 0 }),
    droppedAt: Epoch,
  },
  { additionalProperties: false },
);
export type ClipDroppedReport = Static<typeof ClipDroppedReportSchema>;
