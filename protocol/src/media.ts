import Type, { type Static, type TLiteral } from 'typebox';
import { RecorderTargetSchema } from './channels.js';

/**
 * Video through the edge box (manual §3.2.1): the cloud asks the box over the tunnel to open a live, playback or
 * clip session of a camera or of a recorder's channel; the box pulls the device's RTSP stream with ffmpeg and
 * pushes it out to the cloud over a WebSocket it opens itself (the "ingest"), so that the site needs no inbound
 * port. The cloud relays it to the portal's players.
 *
 * Ingest WebSocket (edge → cloud), `ingest.url` with `Authorization: Bearer <ingest.token>`:
 * - text `{"type":"start", ...MediaStart}` before the first bytes, and again after the box restarted the stream
 *   (a new fMP4 init segment follows: players reset);
 * - binary messages: for `fmp4`, the init segment (ftyp+moov) as one message, then one message per fragment
 *   (moof+mdat), each starting at a key frame; for `mpegts`, MPEG-TS chunks (MPEG-1 video for JSMpeg);
 *   for a `clip`, the bytes of one fragmented MP4 file;
 * - text `{"type":"stalled"}` when the device's stream dropped (the box retries with backoff) and
 *   `{"type":"end"}` when a playback or clip reached its end;
 * - text `{"type":"error","code":MediaRefusal,"message":...}` before closing on a failure.
 * Either side closing the socket ends the session; the box stops ffmpeg (tearing the RTSP session down) once the
 * last session of a stream has gone.
 */

/** Why the box could not open or keep a session (also the HTTP API's error codes). */
export const MediaRefusal = {
  /** The box does not know the device (not discovered, or not on its LAN now). */
  deviceNotFound: 'MEDIA_DEVICE_NOT_FOUND',
  /** Nothing answers at the device's address. */
  deviceUnreachable: 'MEDIA_DEVICE_UNREACHABLE',
  /** The device refused the box's login. */
  loginFailed: 'MEDIA_LOGIN_FAILED',
  /** Image and video encryption is on: the device verification code is needed. */
  verificationCodeRequired: 'VERIFICATION_CODE_REQUIRED',
  /** The verification code given does not open the stream. */
  verificationCodeWrong: 'VERIFICATION_CODE_WRONG',
  /** The device has no such stream or channel, or cannot stream now. */
  streamUnavailable: 'MEDIA_STREAM_UNAVAILABLE',
  /** The recorder holds no recording at the time asked. */
  noRecording: 'MEDIA_NO_RECORDING',
  /** The device has no PTZ, or no such preset. */
  ptzUnsupported: 'MEDIA_PTZ_UNSUPPORTED',
  /** The box runs as many streams as it can. */
  busy: 'MEDIA_BOX_BUSY',
  /** Anything else; the message says what. */
  failed: 'MEDIA_FAILED',
} as const;
export type MediaRefusal = (typeof MediaRefusal)[keyof typeof MediaRefusal];

const literals = <T extends string>(values: readonly T[]) => values.map((v) => Type.Literal(v)) as unknown as [TLiteral<T>];
const RefusalCode = Type.Union(literals(Object.values(MediaRefusal)));
const IsoTime = Type.String({ format: 'date-time' });

/** The streams of a camera or channel: main (full resolution) and sub (lighter, for grids). */
export const MediaStreamName = { main: 'main', sub: 'sub' } as const;
export type MediaStreamName = (typeof MediaStreamName)[keyof typeof MediaStreamName];
export const MediaStreamNameSchema = Type.Union(literals(Object.values(MediaStreamName)));

/**
 * What to take video from: an ONVIF camera the box discovered (its registry holds the address; the box's device
 * password logs in), or a channel of an NVR/DVR on the box's LAN (the cloud names the recorder and its admin
 * password, as for channel management; the recorder serves the channel over RTSP and searches its recordings).
 */
export const MediaSourceSchema = Type.Union([
  Type.Object({ kind: Type.Literal('camera'), deviceKey: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
  Type.Object(
    { kind: Type.Literal('recorder'), recorder: RecorderTargetSchema, channel: Type.Integer({ minimum: 1, maximum: 9999 }) },
    { additionalProperties: false },
  ),
]);
export type MediaSource = Static<typeof MediaSourceSchema>;

/** Live now; playback of recordings from a time (until `to` or the end of the recordings); a clip of a range as one file. */
export const MediaModeSchema = Type.Union([
  Type.Object({ kind: Type.Literal('live') }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('playback'), from: IsoTime, to: Type.Optional(IsoTime) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('clip'), from: IsoTime, to: IsoTime }, { additionalProperties: false }),
]);
export type MediaMode = Static<typeof MediaModeSchema>;

/** How the bytes travel: fragmented MP4 (H.264 copied, for Media Source Extensions) or MPEG-TS with MPEG-1 video (JSMpeg). */
export const MediaFormat = { fmp4: 'fmp4', mpegts: 'mpegts' } as const;
export type MediaFormat = (typeof MediaFormat)[keyof typeof MediaFormat];

export const MediaStartSchema = Type.Object(
  {
    format: Type.Union(literals(Object.values(MediaFormat))),
    /** The MSE type for fmp4, e.g. `video/mp4; codecs="avc1.640028,mp4a.40.2"`; `video/mp2t` for mpegts. */
    mime: Type.String({ maxLength: 128 }),
    /** The device's video codec and whether the box transcodes it (H.265/MJPEG → MPEG-1) or copies it. */
    sourceCodec: Type.Union(literals(['h264', 'h265', 'mjpeg'] as const)),
    transcoded: Type.Boolean(),
    /** AAC (copied or transcoded from G.711) or none (no audio, or audio the box had to drop). */
    audio: Type.Union(literals(['aac', 'none'] as const)),
    width: Type.Integer({ minimum: 0 }),
    height: Type.Integer({ minimum: 0 }),
    /** Playback and clips: the recorded time of the first frame. */
    startsAt: Type.Optional(IsoTime),
  },
  { additionalProperties: false },
);
export type MediaStart = Static<typeof MediaStartSchema>;

export const MediaOpenParamsSchema = Type.Object(
  {
    /** The cloud's id of the session; the ingest URL carries it. */
    sessionId: Type.String({ format: 'uuid' }),
    source: MediaSourceSchema,
    stream: MediaStreamNameSchema,
    mode: MediaModeSchema,
    /** The device verification code, for a device with image and video encryption on. */
    verificationCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    ingest: Type.Object({ url: Type.String({ minLength: 1, maxLength: 2048 }), token: Type.String({ minLength: 16, maxLength: 256 }) }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
export type MediaOpenParams = Static<typeof MediaOpenParamsSchema>;

const Refused = Type.Object({ ok: Type.Literal(false), code: RefusalCode, message: Type.String({ maxLength: 512 }) }, { additionalProperties: false });
export type MediaRefused = Static<typeof Refused>;

/** The box checked the source (login, stream, encryption) and will connect the ingest; `start` is what it will send first. */
export const MediaOpenResultSchema = Type.Union([
  Type.Object(
    {
      ok: Type.Literal(true),
      start: MediaStartSchema,
      /** Another session of the box already pulls this stream. */
      shared: Type.Boolean(),
      /** The device answers PTZ commands (a camera with an ONVIF PTZ service). */
      ptz: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  Refused,
]);
export type MediaOpenResult = Static<typeof MediaOpenResultSchema>;

export const MediaCloseParamsSchema = Type.Object({ sessionId: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
export const MediaCloseResultSchema = Type.Object({ closed: Type.Boolean() }, { additionalProperties: false });

export const MediaSnapshotParamsSchema = Type.Object(
  { source: MediaSourceSchema, stream: MediaStreamNameSchema, verificationCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  { additionalProperties: false },
);
/** A JPEG (at most 2 MB before encoding), base64. */
export const MediaSnapshotResultSchema = Type.Union([
  Type.Object({ ok: Type.Literal(true), jpegBase64: Type.String({ maxLength: 2_800_000 }), at: IsoTime }, { additionalProperties: false }),
  Refused,
]);
export type MediaSnapshotResult = Static<typeof MediaSnapshotResultSchema>;

/** PTZ: continuous move at a velocity (−1..1 each), stop, go to or save a preset, list presets. */
export const PtzActionSchema = Type.Union([
  Type.Object(
    {
      type: Type.Literal('move'),
      pan: Type.Number({ minimum: -1, maximum: 1 }),
      tilt: Type.Number({ minimum: -1, maximum: 1 }),
      zoom: Type.Number({ minimum: -1, maximum: 1 }),
    },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('stop') }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('gotoPreset'), preset: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('setPreset'), name: Type.String({ minLength: 1, maxLength: 32 }) }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('presets') }, { additionalProperties: false }),
]);
export type PtzAction = Static<typeof PtzActionSchema>;

export const PtzPresetSchema = Type.Object({ token: Type.String(), name: Type.String() }, { additionalProperties: false });
export const MediaPtzParamsSchema = Type.Object({ source: MediaSourceSchema, action: PtzActionSchema }, { additionalProperties: false });
export const MediaPtzResultSchema = Type.Union([
  Type.Object(
    {
      ok: Type.Literal(true),
      /** The presets after the action (for `presets` and `setPreset`; empty otherwise). */
      presets: Type.Array(PtzPresetSchema, { maxItems: 256 }),
      /** The position after the action, when the device reports it (pan/tilt −1..1, zoom 0..1). */
      position: Type.Union([Type.Object({ pan: Type.Number(), tilt: Type.Number(), zoom: Type.Number() }), Type.Null()]),
    },
    { additionalProperties: false },
  ),
  Refused,
]);
export type MediaPtzResult = Static<typeof MediaPtzResultSchema>;

/** A recorder's recordings of a channel in a time range, as it indexes them. */
export const MediaRecordingsParamsSchema = Type.Object(
  {
    source: Type.Object(
      { kind: Type.Literal('recorder'), recorder: RecorderTargetSchema, channel: Type.Integer({ minimum: 1, maximum: 9999 }) },
      { additionalProperties: false },
    ),
    from: IsoTime,
    to: IsoTime,
  },
  { additionalProperties: false },
);
export const RecordingSegmentSchema = Type.Object(
  { from: IsoTime, to: IsoTime, /** Continuous (schedule) or event recording. */ type: Type.Union(literals(['continuous', 'motion', 'alarm'] as const)) },
  { additionalProperties: false },
);
export type RecordingSegment = Static<typeof RecordingSegmentSchema>;
export const MediaRecordingsResultSchema = Type.Union([
  Type.Object({ ok: Type.Literal(true), segments: Type.Array(RecordingSegmentSchema, { maxItems: 2000 }), truncated: Type.Boolean() }, { additionalProperties: false }),
  Refused,
]);
export type MediaRecordingsResult = Static<typeof MediaRecordingsResultSchema>;

/** Ingest control messages from the box (text frames). */
export type IngestMessage =
  | ({ type: 'start' } & MediaStart)
  | { type: 'stalled' }
  | { type: 'end' }
  | { type: 'error'; code: MediaRefusal; message: string };

/** The RTSP answer header by which an encrypted device says why it refused: `key-required` or `key-wrong`. */
export const STREAM_ENCRYPTION_HEADER = 'Vigil-Stream-Encryption';
