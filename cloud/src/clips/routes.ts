import { SiteParams } from '../http/params.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { and, desc, eq, gte, inArray, lt, lte, sql, type SQL } from 'drizzle-orm';
import Type from 'typebox';
import { ClipPart, type ClipEventType } from '@vigil/protocol';
import {
  ClipsPageSchema,
  ClipsQuerySchema,
  CloudStorageErrorCode,
  DevicePermissionName,
  ErrorCode,
  Permission,
  type Clip,
  type ClipDrop,
  type ClipsPage,
  type ClipsQuery,
} from '@vigil/protocol/api';
import { manageSites, requireAuth, requirePermission, writeOplog } from '../auth/plugin.js';
import { clipDrops, clips, devices, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { isRecorder, videoFileName } from '../video/devices.js';
import { siteOfRequest, siteScope } from '../sites/access.js';
import { requireDeviceUse, usableDevices } from '../sites/gate.js';
import { ClipObjectMissing, type ByteRange } from './store.js';
import { clipObjectKey } from './uploads.js';

const ClipParams = Type.Object({ clipId: Type.String({ format: 'uuid' }) });
const VideoQuery = Type.Object({ download: Type.Optional(Type.Integer({ minimum: 0, maximum: 1 })) }, { additionalProperties: false });
/** `next` of a page: the last clip's event time (ms) and id. */
const CURSOR = /^(\d{1,15})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
/** The most dropped events one page lists beside its clips. */
const MAX_DROPS = 200;

const guard = [manageSites, requirePermission(Permission.playback)];
const isoAt = (d: Date) => sql`${d.toISOString()}::timestamptz`;

/**
 * The HTTP Range of a request over an object of `size` bytes: null to send it whole (none asked, or one this
 * server does not take, such as several ranges), or 'unsatisfiable'.
 */
export function byteRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  const m = /^bytes=(\d*)-(\d*)$/.exec((header ?? '').trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    return suffix === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  return end < start ? null : { start, end };
}

/** Clip Storage's event timeline of a site, and each clip's video and thumbnail (manual §5.3). */
export async function clipRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.get('/sites/:siteId/clips', { schema: { params: SiteParams, querystring: ClipsQuerySchema, response: { 200: ClipsPageSchema } }, preHandler: guard }, async (request) => {
    const auth = requireAuth(request);
    const site = await siteOfRequest(ctx.db, request);
    const q = request.query as ClipsQuery;
    const limit = q.limit ?? 50;
    // A handed-over site's timeline holds the clips of the devices the customer lets the company play back.
    const usable = await usableDevices(ctx.db, auth, site, DevicePermissionName.playback);
    if (usable && q.deviceId && !usable.includes(q.deviceId)) {
      const [device] = await ctx.db.select({ id: devices.id, name: devices.name }).from(devices).where(and(eq(devices.id, q.deviceId), eq(devices.siteId, site.id)));
      if (device) await requireDeviceUse(ctx.db, auth, site, device, DevicePermissionName.playback);
    }
    let cursor: { at: Date; id: string } | null = null;
    if (q.before !== undefined) {
      const m = CURSOR.exec(q.before);
      if (!m) throw new AppError(400, ErrorCode.validationFailed, 'before: expected the next of an earlier page.');
      cursor = { at: new Date(Number(m[1])), id: m[2]! };
    }
    const from = q.from === undefined ? null : new Date(q.from);
    const to = q.to === undefined ? null : new Date(q.to);
    const filters = <T extends typeof clips | typeof clipDrops>(t: T): SQL[] => [
      eq(t.siteId, site.id),
      ...(usable ? [usable.length > 0 ? inArray(t.deviceId, usable) : sql`false`] : []),
      ...(q.deviceId ? [eq(t.deviceId, q.deviceId)] : []),
      ...(q.channel ? [eq(t.channel, q.channel)] : []),
      ...(q.type ? [sql`${q.type} = ANY(${t.eventTypes})`] : []),
      ...(from ? [gte(t.eventAt, from)] : []),
      ...(to ? [lte(t.eventAt, to)] : []),
    ];

    const rows = await ctx.db
      .select({ clip: clips, deviceId: devices.id, deviceName: devices.name })
      .from(clips)
      .innerJoin(devices, eq(devices.id, clips.deviceId))
      .where(and(...filters(clips), eq(clips.complete, true), ...(cursor ? [sql`(${clips.eventAt}, ${clips.id}) < (${isoAt(cursor.at)}, ${cursor.id}::uuid)`] : [])))
      .orderBy(desc(clips.eventAt), desc(clips.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const more = rows.length > limit && last !== undefined;

    // The drops of the time this page covers: from its last clip (or the start of the range) up to where the page before ended.
    const below = more ? last.clip.eventAt : from;
    const dropRows = await ctx.db
      .select()
      .from(clipDrops)
      .where(and(...filters(clipDrops), ...(below ? [gte(clipDrops.eventAt, below)] : []), ...(cursor ? [lt(clipDrops.eventAt, cursor.at)] : [])))
      .orderBy(desc(clipDrops.eventAt), desc(clipDrops.id))
      .limit(MAX_DROPS);

    const items: Clip[] = page.map(({ clip: c, deviceId, deviceName }) => ({
      id: c.id,
      deviceId,
      deviceName,
      channel: c.channel,
      eventTypes: c.eventTypes as ClipEventType[],
      eventAt: c.eventAt.toISOString(),
      startAt: c.startAt.toISOString(),
      endAt: c.endAt.toISOString(),
      durationSeconds: c.durationSeconds,
      partial: c.partial,
      bytes: c.videoBytes + c.thumbnailBytes,
      expiresAt: c.expiresAt.toISOString(),
      videoUrl: `/api/v1/clips/${c.id}/video`,
      thumbnailUrl: `/api/v1/clips/${c.id}/thumbnail`,
    }));
    const drops: ClipDrop[] = dropRows.map((d) => ({
      deviceId: d.deviceId,
      channel: d.channel,
      eventTypes: d.eventTypes as ClipEventType[],
      eventAt: d.eventAt.toISOString(),
      reason: d.reason as ClipDrop['reason'],
      message: d.message,
      droppedAt: d.droppedAt.toISOString(),
    }));
    const reply: ClipsPage = { items, drops, next: more ? `${last.clip.eventAt.getTime()}.${last.clip.id}` : null };
    return reply;
  });

  /** A stored clip of a site the caller may see; any other id, another company's included, is "not found". */
  async function clipOfRequest(request: FastifyRequest) {
    const auth = requireAuth(request);
    const { clipId } = request.params as { clipId: string };
    const [row] = await ctx.db
      .select({ clip: clips, site: sites, device: { id: devices.id, name: devices.name, kind: devices.kind } })
      .from(clips)
      .innerJoin(sites, eq(sites.id, clips.siteId))
      .innerJoin(devices, eq(devices.id, clips.deviceId))
      .where(and(eq(clips.id, clipId), eq(clips.complete, true), siteScope(auth)));
    if (!row) throw new AppError(404, CloudStorageErrorCode.clipNotFound, 'Clip not found.');
    request.oplog.siteId = row.site.id;
    request.oplog.siteName = row.site.name;
    request.oplog.target = row.device.name;
    await requireDeviceUse(ctx.db, auth, row.site, row.device, DevicePermissionName.playback);
    return row;
  }

  /** Sends a part of the clip, or the byte range asked for; `found` runs once the store has it. */
  async function sendPart(reply: FastifyReply, clip: typeof clips.$inferSelect, part: ClipPart, size: number, rangeHeader: string | undefined, found?: () => Promise<void>) {
    const range = part === ClipPart.video ? byteRange(rangeHeader, size) : null;
    if (range === 'unsatisfiable') {
      throw new AppError(416, 'RANGE_NOT_SATISFIABLE', `The clip is ${size} bytes.`, { 'content-range': `bytes */${size}` });
    }
    let body;
    try {
      body = await ctx.clips.store.read(clipObjectKey(clip, part), range ?? undefined);
    } catch (err) {
      // Retention took it since the index was read.
      if (err instanceof ClipObjectMissing) throw new AppError(404, CloudStorageErrorCode.clipNotFound, 'Clip not found.');
      throw err;
    }
    await found?.();
    void reply
      .header('accept-ranges', 'bytes')
      .header('cache-control', 'private, max-age=3600')
      .header('etag', `"${part === ClipPart.video ? clip.videoSha256 : clip.thumbnailSha256}"`);
    if (range) {
      void reply
        .status(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
        .header('content-length', range.end - range.start + 1);
    } else void reply.header('content-length', size);
    return reply.send(body);
  }

  app.get('/clips/:clipId/video', { schema: { params: ClipParams, querystring: VideoQuery }, preHandler: guard }, async (request, reply) => {
    const { clip, device } = await clipOfRequest(request);
    void reply.type('video/mp4');
    const download = (request.query as { download?: number }).download === 1;
    const recorder = isRecorder(device);
    if (download) {
      void reply.header('content-disposition', `attachment; filename="${videoFileName(device, clip.channel, clip.eventAt)}"`);
      request.oplog.detail = [recorder ? `channel ${clip.channel}` : '', `cloud storage clip of ${clip.eventAt.toISOString()}`].filter(Boolean).join(', ');
    }
    // Playing asks for many ranges; only a download is an operation worth a line of the log.
    const logDownload = download && request.method === 'GET' ? () => writeOplog(app, request, reply, 'Download Video') : undefined;
    return sendPart(reply, clip, ClipPart.video, clip.videoBytes, request.headers.range, logDownload);
  });

  app.get('/clips/:clipId/thumbnail', { schema: { params: ClipParams }, preHandler: guard }, async (request, reply) => {
    const { clip } = await clipOfRequest(request);
    return sendPart(reply.type('image/jpeg'), clip, ClipPart.thumbnail, clip.thumbnailBytes, undefined);
  });
}
