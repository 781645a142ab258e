import { readdir } from 'node:fs/promises';
import { and, asc, eq, inArray, isNull, lt, lte, or } from 'drizzle-orm';
import { ClipPart } from '@vigil/protocol';
import type { Db } from '../db/client.js';
import { clips } from '../db/schema.js';
import type { JobQueue } from '../jobs/queue.js';
import { clipObjectKey, type ClipUploads } from './uploads.js';

const KIND = 'clips.retention';
/** An upload that has not completed in this time is given up: the box starts it again if it still has the clip. */
export const ABANDONED_UPLOAD_MS = 24 * 60 * 60 * 1000;
const BATCH = 200;
const PARTIAL_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(video|thumbnail)$/;

export interface RetentionPass {
  /** Stored clips deleted because their retention ended. */
  expired: number;
  /** Uploads deleted because they never completed. */
  abandoned: number;
}

/**
 * One pass of retention at `now`: clips whose `expires_at` has passed or whose device was removed (their objects,
 * then their row) and uploads
 * older than a day that never completed (their partial files, then their row), then partial files no upload owns.
 * Each step can be repeated, so a crash in the middle leaves nothing the next pass cannot finish.
 */
export async function runClipRetention(db: Db, uploads: ClipUploads, now: Date): Promise<RetentionPass> {
  const pass: RetentionPass = { expired: 0, abandoned: 0 };
  for (;;) {
    const due = await db
      .select()
      .from(clips)
      .where(or(lte(clips.expiresAt, now), isNull(clips.deviceId)))
      .orderBy(asc(clips.expiresAt))
      .limit(BATCH);
    for (const clip of due) {
      if (clip.complete) {
        for (const part of [ClipPart.video, ClipPart.thumbnail]) await uploads.store.delete(clipObjectKey(clip, part));
      }
      await uploads.removePartials(clip.id);
      await db.delete(clips).where(eq(clips.id, clip.id));
      if (clip.complete) pass.expired++;
      else pass.abandoned++;
    }
    if (due.length < BATCH) break;
  }
  const abandonedBefore = new Date(now.getTime() - ABANDONED_UPLOAD_MS);
  for (;;) {
    const stale = await db
      .select({ id: clips.id })
      .from(clips)
      .where(and(eq(clips.complete, false), lt(clips.createdAt, abandonedBefore)))
      .limit(BATCH);
    for (const { id } of stale) {
      await uploads.removePartials(id);
      await db.delete(clips).where(and(eq(clips.id, id), eq(clips.complete, false)));
      pass.abandoned++;
    }
    if (stale.length < BATCH) break;
  }
  await removeOrphanPartials(db, uploads);
  return pass;
}

/** Partial files left by a completion or a deletion that stopped half-way: no upload in progress owns them. */
async function removeOrphanPartials(db: Db, uploads: ClipUploads): Promise<void> {
  let names: string[];
  try {
    names = await readdir(uploads.partialDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const ids = [...new Set(names.map((n) => PARTIAL_FILE.exec(n)?.[1]).filter((id): id is string => id !== undefined))];
  for (let i = 0; i < ids.length; i += BATCH) {
    const chunk = ids.slice(i, i + BATCH);
    const inProgress = await db
      .select({ id: clips.id })
      .from(clips)
      .where(and(inArray(clips.id, chunk), eq(clips.complete, false)));
    const owned = new Set(inProgress.map((r) => r.id));
    for (const id of chunk) if (!owned.has(id)) await uploads.removePartials(id);
  }
}

/** Runs retention every `intervalMs`, as a durable job of the queue (one timer however many nodes start). */
export async function scheduleClipRetention(db: Db, jobs: JobQueue, uploads: ClipUploads, intervalMs: number): Promise<void> {
  jobs.handle(KIND, async () => {
    await runClipRetention(db, uploads, new Date());
    await jobs.schedule(KIND, KIND, new Date(Date.now() + intervalMs));
  });
  await jobs.schedule(KIND, KIND, new Date(Date.now() + intervalMs));
}
