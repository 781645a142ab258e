import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, asc, eq, isNotNull, inArray } from 'drizzle-orm';
import Type from 'typebox';
import { MediaRefusal, MediaStreamNameSchema, RpcMethod, type MediaSource, type MediaStreamName } from '@vigil/protocol';
import {
  CLIP_MAX_SECONDS,
  DevicePermissionName,
  ErrorCode,
  LIVE_VIEW_WINDOW_LIMIT,
  PLAYBACK_WINDOW_LIMIT,
  Permission,
  PtzBodySchema,
  PtzReplySchema,
  RecordingsReplySchema,
  VideoErrorCode,
  VideoSessionBodySchema,
  VideoSessionSchema,
  VideoSessionsSchema,
  VideoSourcesSchema,
  type PtzBody,
  type VideoSession,
  type VideoSessionBody,
  type VideoSource,
} from '@vigil/protocol/api';
import { manageSites, requireAuth, requirePermission } from '../auth/plugin.js';
import { recorderTarget } from '../devices/channels.js';
import { deviceFor } from '../devices/routes.js';
import { devices } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { visibleSite } from '../sites/access.js';
import { isRecorder, VIDEO_KINDS, videoFileName } from './devices.js';
import { ClipSink, type StreamEnd } from './relay.js';
import { EdgeRefusal, type VideoWindow } from './sessions.js';

const DeviceParams = Type.Object({ deviceId: Type.String({ format: 'uuid' }) });
const SiteParams = Type.Object({ siteId: Type.String({ format: 'uuid' }) });
const SessionParams = Type.Object({ sessionId: Type.String({ format: 'uuid' }) });
const Channel = Type.Integer({ minimum: 1, maximum: 9999 });
const IsoTime = Type.String({ format: 'date-time' });
const SnapshotQuery = Type.Object(
  { stream: Type.Optional(MediaStreamNameSchema), channel: Type.Optional(Channel), verificationCode: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  { additionalProperties: false },
);
const RangeQuery = Type.Object({ channel: Type.Optional(Channel), from: IsoTime, to: IsoTime }, { additionalProperties: false });
const ClipQuery = Type.Object({ channel: Type.Optional(Channel), from: IsoTime, to: IsoTime, stream: Type.Optional(MediaStreamNameSchema) }, { additionalProperties: false });

/** Speed domes and PTZ cameras carry "2DE"/"2DF"/"2DY" in their model (DS-2DE4425IW-DE): the guess before the box has said. */
const PTZ_MODEL = /^DS-2D[EFY]/i;

/** How each refusal of the edge box leaves the API. */
const REFUSAL_STATUS: Record<MediaRefusal, number> = {
  [MediaRefusal.deviceNotFound]: 404,
  [MediaRefusal.deviceUnreachable]: 502,
  [MediaRefusal.loginFailed]: 502,
  [MediaRefusal.verificationCodeRequired]: 403,
  [MediaRefusal.verificationCodeWrong]: 403,
  [MediaRefusal.streamUnavailable]: 409,
  [MediaRefusal.noRecording]: 404,
  [MediaRefusal.ptzUnsupported]: 409,
  [MediaRefusal.busy]: 409,
  [MediaRefusal.failed]: 502,
};
const ENCRYPTION_REFUSALS: ReadonlySet<string> = new Set([MediaRefusal.verificationCodeRequired, MediaRefusal.verificationCodeWrong]);

const seconds = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;

/**
 * Live view, playback, snapshots, PTZ, recordings and clip download of a site's cameras and recorder channels
 * (manual §3.2.1), through the edge box that reaches them; the windows and their WebSockets live in `ctx.video`.
 */
export async function videoRoutes(app: FastifyInstance) {
  const { ctx } = app;

  /**
   * The device of the route with what the edge box needs to reach its video: it must have video, be reached
   * through an edge box that is connected, and be online. The caller must hold `permission`, and on a handed-over
   * site the customer's grant of the same use (live view for live, snapshots and PTZ; playback for the rest).
   */
  async function videoSource(request: FastifyRequest, permission: Permission, channelAsked: number | undefined) {
    const auth = requireAuth(request);
    if (!auth.permissions.has(permission)) throw new AppError(403, ErrorCode.permissionDenied, `This needs the permission ${permission}.`);
    const use = permission === Permission.liveView ? DevicePermissionName.liveView : DevicePermissionName.playback;
    const { device, site } = await deviceFor(ctx.db, request, { use });
    const recorder = isRecorder(device);
    if (!VIDEO_KINDS.has(device.kind)) throw new AppError(409, VideoErrorCode.noVideo, `${device.name} has no video.`);
    const channel = recorder ? (channelAsked ?? 1) : null;
    if (recorder && channel! > device.channels) throw new AppError(409, VideoErrorCode.noVideo, `${device.name} has no channel ${channel} (it has ${device.channels}).`);
    if (!recorder && channelAsked !== undefined && channelAsked !== 1) throw new AppError(409, VideoErrorCode.noVideo, `${device.name} is a camera: it has no channel ${channelAsked}.`);
    if (device.edgeSerial === null) {
      throw new AppError(409, VideoErrorCode.noEdgeBox, `${device.name} is not reached through an edge box of the site, so its video cannot be watched from here.`);
    }
    if (device.status !== 'online') throw new AppError(409, VideoErrorCode.deviceOffline, `${device.name} is offline.`);
    let source: MediaSource;
    let edgeSerial: string;
    if (recorder) {
      const r = await recorderTarget(ctx, auth, device, site, [], request.log);
      source = { kind: 'recorder', recorder: r.target, channel: channel! };
      edgeSerial = r.edgeSerial;
    } else {
      if (!ctx.tunnel.isConnected(device.edgeSerial)) throw new AppError(409, ErrorCode.edgeOffline, `The edge box ${device.edgeSerial} that reaches ${device.name} is not connected right now.`);
      source = { kind: 'camera', deviceKey: device.deviceKey };
      edgeSerial = device.edgeSerial;
    }
    if (channel !== null) request.oplog.detail = `channel ${channel}`;
    return { auth, device, site, recorder, channel, source, edgeSerial };
  }

  /** The box's refusal as the API says it; a device asking for its code is remembered as encrypted. */
  async function refused(deviceId: string, code: MediaRefusal, message: string): Promise<AppError> {
    if (ENCRYPTION_REFUSALS.has(code)) await ctx.db.update(devices).set({ videoEncrypted: true }).where(eq(devices.id, deviceId));
    return new AppError(REFUSAL_STATUS[code] ?? 502, code, message);
  }

  /**
   * What opening the video taught about the device: without a code, its encryption is off; the box's answer says
   * whether it has PTZ (so the sources list offers the pad before a window is open).
   */
  async function opened(device: { id: string; videoEncrypted: boolean; videoPtz: boolean }, code: string | null | undefined, ptz: boolean) {
    const change = { ...(device.videoEncrypted && !code ? { videoEncrypted: false } : {}), ...(device.videoPtz !== ptz ? { videoPtz: ptz } : {}) };
    if (Object.keys(change).length > 0) await ctx.db.update(devices).set(change).where(eq(devices.id, device.id));
  }

  const view = (w: VideoWindow): Omit<VideoSession, 'url'> => ({
    sessionId: w.id,
    mode: w.mode === 'live' ? 'live' : 'playback',
    deviceId: w.deviceId,
    deviceName: w.deviceName,
    channel: w.channel,
    stream: w.stream,
    start: w.start!,
    ptz: w.edge?.ptz ?? false,
    openedAt: w.openedAt.toISOString(),
  });

  app.post(
    '/devices/:deviceId/video/sessions',
    { schema: { params: DeviceParams, body: VideoSessionBodySchema, response: { 201: VideoSessionSchema } }, preHandler: manageSites, config: { oplog: 'Live View' } },
    async (request, reply) => {
      const body = request.body as VideoSessionBody;
      const live = body.mode === 'live';
      if (!live) request.oplog.action = 'Playback';
      if (!live && body.from === undefined) throw new AppError(400, ErrorCode.validationFailed, 'Playback needs the recorded time to start at (from).');
      if (live && body.from !== undefined) throw new AppError(400, ErrorCode.validationFailed, 'Live view starts now: from is for playback.');
      const v = await videoSource(request, live ? Permission.liveView : Permission.playback, body.channel);
      if (!live && !v.recorder) throw new AppError(409, MediaRefusal.noRecording, `${v.device.name} is a camera: play back the channel of the recorder that records it.`);
      const stream: MediaStreamName = body.stream ?? 'main';
      const code = body.verificationCode ?? null;
      const window = ctx.video.reserve(v.auth.accountId, { mode: body.mode, deviceId: v.device.id, deviceName: v.device.name, channel: v.channel, stream });
      let ticket: string;
      try {
        ticket = await ctx.video.attach(window, {
          edgeSerial: v.edgeSerial,
          source: v.source,
          stream,
          mode: live ? { kind: 'live' } : { kind: 'playback', from: body.from! },
          verificationCode: code,
          shareKey: live ? `${v.edgeSerial}|${v.device.id}|${v.channel ?? 0}|${stream}` : null,
        });
      } catch (err) {
        if (err instanceof EdgeRefusal) throw await refused(v.device.id, err.code, err.message);
        throw err;
      }
      await opened(v.device, code, window.edge?.ptz ?? false);
      request.oplog.detail = [request.oplog.detail, `${stream} stream`, live ? '' : `from ${body.from}`].filter(Boolean).join(', ');
      const session: VideoSession = { ...view(window), url: `/api/v1/video/sessions/${window.id}/stream?ticket=${ticket}` };
      return reply.status(201).send(session);
    },
  );

  app.get('/video/sessions', { schema: { response: { 200: VideoSessionsSchema } } }, async (request) => ({
    items: ctx.video
      .of(requireAuth(request).accountId)
      .filter((w) => w.start !== null)
      .map(view),
    limits: { live: LIVE_VIEW_WINDOW_LIMIT, playback: PLAYBACK_WINDOW_LIMIT },
  }));

  app.delete('/video/sessions/:sessionId', { schema: { params: SessionParams }, config: { oplog: false } }, async (request, reply) => {
    const window = ctx.video.get(requireAuth(request).accountId, (request.params as { sessionId: string }).sessionId);
    if (!window) throw new AppError(404, VideoErrorCode.sessionNotFound, 'No such video window is open.');
    ctx.video.close(window, 'The window was closed.');
    return reply.status(204).send();
  });

  app.get(
    '/sites/:siteId/video/sources',
    { schema: { params: SiteParams, response: { 200: VideoSourcesSchema } }, preHandler: [manageSites, requirePermission(Permission.liveView, Permission.playback)] },
    async (request) => {
      const site = await visibleSite(ctx.db, requireAuth(request), (request.params as { siteId: string }).siteId);
      const rows = await ctx.db
        .select()
        .from(devices)
        .where(and(eq(devices.siteId, site.id), isNotNull(devices.edgeSerial), inArray(devices.kind, [...VIDEO_KINDS])))
        .orderBy(asc(devices.name), asc(devices.id));
      const items: VideoSource[] = [];
      for (const d of rows) {
        const common = { deviceId: d.id, deviceName: d.name, kind: d.kind, online: d.status === 'online', encrypted: d.videoEncrypted };
        if (!isRecorder(d)) {
          items.push({ ...common, channel: null, label: d.name, playback: false, ptz: d.videoPtz || PTZ_MODEL.test(d.model) });
          continue;
        }
        for (let channel = 1; channel <= d.channels; channel++) items.push({ ...common, channel, label: `${d.name} — channel ${channel}`, playback: true, ptz: false });
      }
      return { items };
    },
  );

  app.get('/devices/:deviceId/snapshot', { schema: { params: DeviceParams, querystring: SnapshotQuery }, preHandler: manageSites }, async (request, reply) => {
    const q = request.query as { stream?: MediaStreamName; channel?: number; verificationCode?: string };
    const v = await videoSource(request, Permission.liveView, q.channel);
    const result = await ctx.tunnel.call(
      v.edgeSerial,
      RpcMethod.mediaSnapshot,
      { source: v.source, stream: q.stream ?? 'main', ...(q.verificationCode ? { verificationCode: q.verificationCode } : {}) },
      ctx.config.rpcTimeoutMs,
    );
    if (!result.ok) throw await refused(v.device.id, result.code, result.message);
    await opened(v.device, q.verificationCode, v.device.videoPtz);
    return reply.type('image/jpeg').header('cache-control', 'no-store').header('x-captured-at', result.at).send(Buffer.from(result.jpegBase64, 'base64'));
  });

  app.post(
    '/devices/:deviceId/ptz',
    { schema: { params: DeviceParams, body: PtzBodySchema, response: { 200: PtzReplySchema } }, preHandler: manageSites, config: { oplog: 'PTZ Control' } },
    async (request) => {
      const body = request.body as PtzBody;
      const v = await videoSource(request, Permission.liveView, body.channel);
      request.oplog.detail = [request.oplog.detail, body.action.type === 'gotoPreset' ? `go to preset ${body.action.preset}` : body.action.type === 'setPreset' ? `save preset ${body.action.name}` : body.action.type]
        .filter(Boolean)
        .join(', ');
      const result = await ctx.tunnel.call(v.edgeSerial, RpcMethod.mediaPtz, { source: v.source, action: body.action }, ctx.config.rpcTimeoutMs);
      if (!result.ok) throw await refused(v.device.id, result.code, result.message);
      return { presets: result.presets, position: result.position };
    },
  );

  app.get('/devices/:deviceId/recordings', { schema: { params: DeviceParams, querystring: RangeQuery, response: { 200: RecordingsReplySchema } }, preHandler: manageSites }, async (request) => {
    const q = request.query as { channel?: number; from: string; to: string };
    if (seconds(q.from, q.to) <= 0) throw new AppError(400, ErrorCode.validationFailed, 'from must come before to.');
    const v = await videoSource(request, Permission.playback, q.channel);
    if (v.source.kind !== 'recorder') throw new AppError(409, MediaRefusal.noRecording, `${v.device.name} is a camera: its recordings are on the recorder that records it.`);
    const result = await ctx.tunnel.call(v.edgeSerial, RpcMethod.mediaRecordings, { source: v.source, from: q.from, to: q.to }, ctx.config.rpcTimeoutMs);
    if (!result.ok) throw await refused(v.device.id, result.code, result.message);
    return { segments: result.segments, truncated: result.truncated };
  });

  app.get(
    '/devices/:deviceId/clip',
    { schema: { params: DeviceParams, querystring: ClipQuery }, preHandler: manageSites, config: { oplog: 'Download Video' } },
    async (request, reply) => {
      const q = request.query as { channel?: number; from: string; to: string; stream?: MediaStreamName };
      const length = seconds(q.from, q.to);
      if (length <= 0) throw new AppError(400, ErrorCode.validationFailed, 'from must come before to.');
      if (length > CLIP_MAX_SECONDS) throw new AppError(400, VideoErrorCode.clipTooLong, `A clip is at most ${CLIP_MAX_SECONDS / 60} minutes long: download a shorter range.`);
      const v = await videoSource(request, Permission.playback, q.channel);
      if (v.source.kind !== 'recorder') throw new AppError(409, MediaRefusal.noRecording, `${v.device.name} is a camera: download the clip from the recorder that records it.`);
      request.oplog.detail = [request.oplog.detail, `${q.from} to ${q.to}`].filter(Boolean).join(', ');
      const stream: MediaStreamName = q.stream ?? 'main';
      const window = ctx.video.reserve(v.auth.accountId, { mode: 'clip', deviceId: v.device.id, deviceName: v.device.name, channel: v.channel, stream });
      const out = new PassThrough();
      let sink: ClipSink | null = null;
      try {
        await ctx.video.attachClip(window, { edgeSerial: v.edgeSerial, source: v.source, stream, mode: { kind: 'clip', from: q.from, to: q.to }, verificationCode: null, shareKey: null }, (s) => (sink = new ClipSink(out, s)));
      } catch (err) {
        if (err instanceof EdgeRefusal) throw await refused(v.device.id, err.code, err.message);
        throw err;
      }
      // The download leaves once bytes come, so that a failure before them is still a proper refusal.
      try {
        await sink!.firstBytes();
      } catch (why) {
        ctx.video.close(window, 'The clip failed.');
        const end = why as StreamEnd;
        if (end.ok) throw new AppError(404, MediaRefusal.noRecording, `${v.device.name} holds no recording from ${q.from} to ${q.to}.`);
        const code = end.code ?? MediaRefusal.failed;
        throw new AppError(REFUSAL_STATUS[code] ?? 502, code, end.message);
      }
      reply.raw.on('close', () => ctx.video.close(window, 'The download was cancelled.'));
      out.on('end', () => ctx.video.close(window, 'The clip was downloaded.'));
      const name = videoFileName(v.device, v.channel, new Date(q.from));
      return reply.type('video/mp4').header('content-disposition', `attachment; filename="${name}"`).header('cache-control', 'no-store').send(out);
    },
  );
}
