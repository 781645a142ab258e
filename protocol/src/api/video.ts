import Type, { type Static } from 'typebox';
import { MediaRefusal, MediaStartSchema, MediaStreamNameSchema, PtzActionSchema, PtzPresetSchema, RecordingSegmentSchema } from '../media.js';
import { UuidSchema } from './common.js';

/**
 * Live view, playback, snapshots, PTZ and clip download of a site's cameras and recorder channels (manual §3.2.1,
 * §4.1), through the edge box that reaches them. A session is opened with a POST; the player then connects a
 * WebSocket to the session's `url` (one use, bound to the viewer) and receives what the box sends (see
 * `media.ts`): a JSON `start` text message, then fMP4 init + fragments or MPEG-TS chunks, `stalled` while the
 * device's stream is being resumed, `end` at the end of a playback. Closing the socket ends the window.
 *
 *   POST   /api/v1/devices/:deviceId/video/sessions       open a live or playback window (VideoSessionBody)
 *   GET    /api/v1/video/sessions                         the caller's open windows and the limits
 *   DELETE /api/v1/video/sessions/:sessionId              close a window
 *   GET    /api/v1/video/sessions/:sessionId/stream       WebSocket (?ticket=)
 *   GET    /api/v1/sites/:siteId/video/sources            what of the site can be watched
 *   GET    /api/v1/devices/:deviceId/snapshot             image/jpeg (?stream=&channel=&verificationCode=)
 *   POST   /api/v1/devices/:deviceId/ptz                  PtzBody → PtzReply
 *   GET    /api/v1/devices/:deviceId/recordings           ?channel=&from=&to= → RecordingsReply
 *   GET    /api/v1/devices/:deviceId/clip                 ?channel=&from=&to=&stream= → video/mp4 download
 *   GET    /api/v1/video/ingest/:sessionId                WebSocket for the edge box (Bearer token of media.open)
 */

/** The manual's limits: windows open at once per user. */
export const LIVE_VIEW_WINDOW_LIMIT = 16;
export const PLAYBACK_WINDOW_LIMIT = 4;
/** The longest clip the portal downloads at once. */
export const CLIP_MAX_SECONDS = 30 * 60;

export const VideoErrorCode = {
  ...MediaRefusal,
  liveViewLimit: 'LIVE_VIEW_LIMIT',
  playbackLimit: 'PLAYBACK_LIMIT',
  /** The device is not reached through an edge box of the site. */
  noEdgeBox: 'DEVICE_WITHOUT_EDGE_BOX',
  /** Declared offline: video is only for online devices. */
  deviceOffline: 'DEVICE_OFFLINE',
  /** The device has no video (an alarm panel, a switch...), or no such channel. */
  noVideo: 'DEVICE_HAS_NO_VIDEO',
  sessionNotFound: 'VIDEO_SESSION_NOT_FOUND',
  /** The window's ticket was used already, or belongs to another viewer. */
  ticketInvalid: 'VIDEO_TICKET_INVALID',
  clipTooLong: 'CLIP_TOO_LONG',
} as const;
export type VideoErrorCode = (typeof VideoErrorCode)[keyof typeof VideoErrorCode];

const Channel = Type.Integer({ minimum: 1, maximum: 9999 });
const IsoTime = Type.String({ format: 'date-time' });

export const VideoSessionBodySchema = Type.Object(
  {
    mode: Type.Union([Type.Literal('live'), Type.Literal('playback')]),
    stream: Type.Optional(MediaStreamNameSchema),
    /** A recorder's channel (1 when omitted); cameras have none. */
    channel: Type.Optional(Channel),
    /** Playback: the recorded time to start at. */
    from: Type.Optional(IsoTime),
    verificationCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type VideoSessionBody = Static<typeof VideoSessionBodySchema>;

export const VideoSessionSchema = Type.Object({
  sessionId: UuidSchema,
  mode: Type.Union([Type.Literal('live'), Type.Literal('playback')]),
  deviceId: UuidSchema,
  deviceName: Type.String(),
  channel: Type.Union([Channel, Type.Null()]),
  stream: MediaStreamNameSchema,
  /** Path of the player's WebSocket, with its one-use ticket. */
  url: Type.String(),
  start: MediaStartSchema,
  /** The device answers PTZ commands, as the box found when it opened the stream. */
  ptz: Type.Boolean(),
  openedAt: IsoTime,
});
export type VideoSession = Static<typeof VideoSessionSchema>;

export const VideoSessionsSchema = Type.Object({
  items: Type.Array(Type.Omit(VideoSessionSchema, ['url'])),
  limits: Type.Object({ live: Type.Integer(), playback: Type.Integer() }),
});
export type VideoSessions = Static<typeof VideoSessionsSchema>;

/** One thing of a site that can be watched: a camera, or one channel of an NVR/DVR. */
export const VideoSourceSchema = Type.Object({
  deviceId: UuidSchema,
  deviceName: Type.String(),
  kind: Type.String(),
  channel: Type.Union([Channel, Type.Null()]),
  /** "Camera 1" or "NVR 1 — channel 3". */
  label: Type.String(),
  online: Type.Boolean(),
  /** Recorders keep recordings that can be played back. */
  playback: Type.Boolean(),
  ptz: Type.Boolean(),
  /** The device asked for its verification code before (image and video encryption on). */
  encrypted: Type.Boolean(),
});
export type VideoSource = Static<typeof VideoSourceSchema>;
export const VideoSourcesSchema = Type.Object({ items: Type.Array(VideoSourceSchema) });

export const PtzBodySchema = Type.Object({ action: PtzActionSchema, channel: Type.Optional(Channel) }, { additionalProperties: false });
export type PtzBody = Static<typeof PtzBodySchema>;
export const PtzReplySchema = Type.Object({
  presets: Type.Array(PtzPresetSchema),
  position: Type.Union([Type.Object({ pan: Type.Number(), tilt: Type.Number(), zoom: Type.Number() }), Type.Null()]),
});
export type PtzReply = Static<typeof PtzReplySchema>;

export const RecordingsReplySchema = Type.Object({ segments: Type.Array(RecordingSegmentSchema), truncated: Type.Boolean() });
export type RecordingsReply = Static<typeof RecordingsReplySchema>;
