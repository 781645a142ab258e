import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { constants, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import { ClipPart, ClipUploadRefusal, parseChannelKey, type ClipUploadCreate, type ClipUploadState } from '@vigil/protocol';
import { CloudStorageErrorCode } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { clips, cloudStorageChannels, devices, edges } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { KeyedQueue } from '../keyed-queue.js';
import type { LiveHub } from '../live/hub.js';
import type { ClipStore } from './store.js';

type ClipRow = typeof clips.$inferSelect;
type Log = { warn(o: object, m: string): void };

/** A refusal of the upload protocol; the box carries on from `state` when there is one. */
export class ClipRefusal extends AppError {
  constructor(
    statusCode: number,
    code: string,
    message: string,
    readonly state?: ClipUploadState,
  ) {
    super(statusCode, code, message);
  }
}

const PART_TYPES: Record<ClipPart, string> = { video: 'video/mp4', thumbnail: 'image/jpeg' };
const DAY_MS = 24 * 60 * 60 * 1000;

/** Where a stored clip's part lives in the clip store. */
export const clipObjectKey = (clip: { companyId: string; id: string }, part: ClipPart): string =>
  `${clip.companyId}/${clip.id}/${part === ClipPart.video ? 'video.mp4' : 'thumbnail.jpg'}`;

export const uploadState = (c: ClipRow): ClipUploadState => ({
  clipId: c.id,
  video: { offset: c.videoOffset, bytes: c.videoBytes },
  thumbnail: { offset: c.thumbnailOffset, bytes: c.thumbnailBytes },
  complete: c.complete,
});

function partOf(c: ClipRow, part: ClipPart) {
  return part === ClipPart.video
    ? { offset: c.videoOffset, bytes: c.videoBytes, sha256: c.videoSha256, column: 'videoOffset' as const }
    : { offset: c.thumbnailOffset, bytes: c.thumbnailBytes, sha256: c.thumbnailSha256, column: 'thumbnailOffset' as const };
}

const whole = (c: ClipRow) => c.videoOffset === c.videoBytes && c.thumbnailOffset === c.thumbnailBytes;
const eventKeys = (events: { type: string; at: number }[]) => events.map((e) => `${e.type}@${e.at}`).join(',');

/** The same clip sent again: the same box and the same metadata. */
function sameUpload(row: ClipRow, serial: string, deviceId: string, channel: number, u: ClipUploadCreate): boolean {
  return (
    row.edgeSerial === serial &&
    row.deviceId === deviceId &&
    row.channel === channel &&
    eventKeys(row.events as { type: string; at: number }[]) === eventKeys(u.events) &&
    row.startAt.getTime() === u.startAt &&
    row.endAt.getTime() === u.endAt &&
    // Stored as a 4-byte real.
    Math.abs(row.durationSeconds - u.durationSeconds) < 1e-3 &&
    row.partial === u.partial &&
    row.videoBytes === u.video.bytes &&
    row.videoSha256 === u.video.sha256 &&
    row.thumbnailBytes === u.thumbnail.bytes &&
    row.thumbnailSha256 === u.thumbnail.sha256
  );
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** An append in progress: a newer request for the same part ends it (the box never sends two at once). */
interface ActiveAppend {
  body: Readable;
  settled: Promise<unknown>;
}

/**
 * The cloud end of the box's resumable clip uploads (protocol/src/clips.ts): the clip's row from the first POST,
 * each part appended to a file of `partialDir` from the offset PostgreSQL holds (moved on only once the bytes are
 * on disk), each whole part checked against its sha256, and both parts put into the clip store once whole.
 */
export class ClipUploads {
  private readonly appends = new Map<string, ActiveAppend>();
  /** One completion at a time per clip. */
  private readonly completions = new KeyedQueue();

  constructor(
    private readonly db: Db,
    readonly store: ClipStore,
    readonly partialDir: string,
    private readonly hub: LiveHub,
    private readonly log: Log,
  ) {}

  partialPath(clipId: string, part: ClipPart): string {
    return join(this.partialDir, `${clipId}.${part}`);
  }

  /** Starts an upload, or finds the one of the same clip id (201 when new). */
  async create(serial: string, u: ClipUploadCreate): Promise<{ created: boolean; state: ClipUploadState }> {
    if (u.endAt < u.startAt) throw new ClipRefusal(422, ClipUploadRefusal.invalid, 'The clip ends before it starts.');
    const { deviceId, channel } = parseChannelKey(u.channelKey);
    const again = await this.again(serial, deviceId, channel, u);
    if (again) return { created: false, state: again };

    const [edge] = await this.db.select({ siteId: edges.siteId }).from(edges).where(eq(edges.serial, serial));
    if (!edge?.siteId) throw new ClipRefusal(422, ClipUploadRefusal.channelUnknown, 'This box is on no site: it records for no channel.');
    const [device] = await this.db.select().from(devices).where(and(eq(devices.id, deviceId), eq(devices.edgeSerial, serial)));
    if (!device) throw new ClipRefusal(422, ClipUploadRefusal.channelUnknown, `The channel ${u.channelKey} is not one this box reaches.`);
    const [service] = await this.db
      .select()
      .from(cloudStorageChannels)
      .where(and(eq(cloudStorageChannels.deviceId, deviceId), eq(cloudStorageChannels.channel, channel)));
    if (!service?.enabled) throw new ClipRefusal(422, ClipUploadRefusal.channelUnknown, `Cloud storage is off for ${device.name}, channel ${channel}.`);
    const eventAt = Math.min(...u.events.map((e) => e.at));
    const { activatedAt, expiresAt, retentionDays } = service;
    if (!activatedAt || !expiresAt || !retentionDays || eventAt < activatedAt.getTime() || eventAt >= expiresAt.getTime()) {
      throw new ClipRefusal(403, ClipUploadRefusal.serviceInactive, `The cloud storage service of ${device.name}, channel ${channel}, was not active at ${new Date(eventAt).toISOString()}.`);
    }
    const inserted = await this.db
      .insert(clips)
      .values({
        id: u.clipId,
        edgeSerial: serial,
        companyId: device.companyId,
        siteId: device.siteId,
        deviceId,
        channel,
        eventTypes: [...new Set(u.events.map((e) => e.type))],
        events: u.events,
        eventAt: new Date(eventAt),
        startAt: new Date(u.startAt),
        endAt: new Date(u.endAt),
        durationSeconds: u.durationSeconds,
        partial: u.partial,
        videoBytes: u.video.bytes,
        videoSha256: u.video.sha256,
        thumbnailBytes: u.thumbnail.bytes,
        thumbnailSha256: u.thumbnail.sha256,
        retentionDays,
        expiresAt: new Date(eventAt + retentionDays * DAY_MS),
      })
      .onConflictDoNothing()
      .returning();
    if (inserted[0]) return { created: true, state: uploadState(inserted[0]) };
    // The same clip id created meanwhile (a resend racing the first request).
    const raced = await this.again(serial, deviceId, channel, u);
    if (!raced) throw new ClipRefusal(409, ClipUploadRefusal.conflict, `Another clip has the id ${u.clipId}.`);
    return { created: false, state: raced };
  }

  /** The state of the clip id if it was created already with this metadata; a different clip of that id is a conflict. */
  private async again(serial: string, deviceId: string, channel: number, u: ClipUploadCreate): Promise<ClipUploadState | null> {
    const [row] = await this.db.select().from(clips).where(eq(clips.id, u.clipId));
    if (!row) return null;
    if (!sameUpload(row, serial, deviceId, channel, u)) throw new ClipRefusal(409, ClipUploadRefusal.conflict, `A different clip has the id ${u.clipId}.`);
    return this.settle(row);
  }

  /** The upload's state for its box; a clip whose completion was interrupted is completed now. */
  async state(serial: string, clipId: string): Promise<ClipUploadState> {
    return this.settle(await this.ofBox(serial, clipId));
  }

  private async ofBox(serial: string, clipId: string): Promise<ClipRow> {
    const [row] = await this.db
      .select()
      .from(clips)
      .where(and(eq(clips.id, clipId), eq(clips.edgeSerial, serial)));
    if (!row) throw new ClipRefusal(404, CloudStorageErrorCode.clipNotFound, `No upload of clip ${clipId} from this box.`);
    return row;
  }

  private async settle(row: ClipRow): Promise<ClipUploadState> {
    return !row.complete && whole(row) ? this.complete(row.id) : uploadState(row);
  }

  /**
   * Appends the body to the part from `offset`, which must be the cloud's. A cut connection keeps what arrived;
   * bytes beyond the part's size are refused and not kept. A part made whole is checked against its sha256.
   */
  async append(serial: string, clipId: string, part: ClipPart, offset: number, body: Readable, declaredLength: number | null): Promise<ClipUploadState> {
    const key = `${clipId}/${part}`;
    const previous = this.appends.get(key);
    if (previous) {
      previous.body.destroy(new Error('a newer request for the same part'));
      await previous.settled;
    }
    const settled = this.appendNow(serial, clipId, part, offset, body, declaredLength);
    const mine: ActiveAppend = { body, settled: settled.catch(() => undefined) };
    this.appends.set(key, mine);
    try {
      return await settled;
    } finally {
      if (this.appends.get(key) === mine) this.appends.delete(key);
    }
  }

  private async appendNow(serial: string, clipId: string, part: ClipPart, offset: number, body: Readable, declaredLength: number | null): Promise<ClipUploadState> {
    const row = await this.ofBox(serial, clipId);
    const p = partOf(row, part);
    if (offset !== p.offset) {
      throw new ClipRefusal(409, ClipUploadRefusal.offsetMismatch, `The cloud holds ${p.offset} bytes of the ${part}, not ${offset}.`, await this.settle(row));
    }
    if (declaredLength !== null && offset + declaredLength > p.bytes) {
      throw new ClipRefusal(422, ClipUploadRefusal.invalid, `The ${part} is ${p.bytes} bytes: ${declaredLength} from ${offset} go past its end.`, uploadState(row));
    }
    const path = this.partialPath(clipId, part);
    let written = 0;
    let beyond = 0;
    if (p.offset < p.bytes) {
      await mkdir(this.partialDir, { recursive: true });
      const file = await open(path, constants.O_WRONLY | constants.O_CREAT);
      try {
        // Bytes past the offset PostgreSQL holds were never acknowledged (a crash before its update): written again.
        await file.truncate(offset);
        try {
          for await (const chunk of body) {
            const bytes = chunk as Buffer;
            const room = p.bytes - offset - written;
            const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
            beyond += bytes.length - kept.length;
            if (kept.length > 0) {
              await file.write(kept, 0, kept.length, offset + written);
              written += kept.length;
            }
          }
        } catch {
          // The connection was cut: what arrived is kept, and the box's next GET says where to resume.
        }
        await file.sync();
      } finally {
        await file.close();
      }
    } else {
      for await (const chunk of body) beyond += (chunk as Buffer).length;
    }

    let reached = offset + written;
    let checksumFailed = false;
    if (written > 0 && reached === p.bytes && (await fileSha256(path)) !== p.sha256) {
      await rm(path, { force: true });
      reached = 0;
      checksumFailed = true;
    }
    const [updated] =
      reached === offset && !checksumFailed
        ? [row]
        : await this.db
            .update(clips)
            .set({ [p.column]: reached })
            .where(and(eq(clips.id, clipId), eq(clips[p.column], offset)))
            .returning();
    if (!updated) throw new Error(`the ${part} of clip ${clipId} moved while it was being appended`);
    if (checksumFailed) {
      throw new ClipRefusal(422, ClipUploadRefusal.checksumMismatch, `The ${part} does not match its sha256: send it again from 0.`, uploadState(updated));
    }
    if (beyond > 0) {
      throw new ClipRefusal(422, ClipUploadRefusal.invalid, `The ${part} is ${p.bytes} bytes: ${beyond} more were sent and not kept.`, uploadState(updated));
    }
    return this.settle(updated);
  }

  /** Both parts whole: into the clip store, then into the index, and the portal is told. Repeatable. */
  private complete(clipId: string): Promise<ClipUploadState> {
    return this.completions.run(clipId, async () => {
      const [row] = await this.db.select().from(clips).where(eq(clips.id, clipId));
      if (!row) throw new ClipRefusal(404, CloudStorageErrorCode.clipNotFound, `No upload of clip ${clipId}.`);
      if (row.complete || !whole(row)) return uploadState(row);
      for (const part of [ClipPart.video, ClipPart.thumbnail]) await this.store.put(clipObjectKey(row, part), this.partialPath(clipId, part), PART_TYPES[part]);
      const [done] = await this.db
        .update(clips)
        .set({ complete: true, completedAt: new Date() })
        .where(and(eq(clips.id, clipId), eq(clips.complete, false)))
        .returning();
      if (done?.deviceId) this.hub.publish(done.companyId, { type: 'clip.new', siteId: done.siteId, deviceId: done.deviceId });
      await this.removePartials(clipId).catch((err: unknown) => this.log.warn({ err, clipId }, 'partial clip files not removed'));
      return uploadState(done ?? { ...row, complete: true });
    });
  }

  async removePartials(clipId: string): Promise<void> {
    for (const part of [ClipPart.video, ClipPart.thumbnail]) await rm(this.partialPath(clipId, part), { force: true });
  }
}
