import { lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { edgeAnnouncements, receivedMessages, sessions, throttles } from '../db/schema.js';
import type { JobQueue } from './queue.js';

const KIND = 'housekeeping';
const EVERY_MS = 60 * 60 * 1000;
/** Longer than any outbox backlog an edge redelivers after an outage, so de-duplication still holds. */
const KEEP_MESSAGE_IDS_DAYS = 14;
/** An unclaimed box that has not connected for this long must connect again before it can be added. */
const KEEP_ANNOUNCEMENTS_DAYS = 30;

/** Prunes what only grows: expired sessions, old message ids, stale announcements and throttles. */
export async function scheduleHousekeeping(db: Db, jobs: JobQueue): Promise<void> {
  jobs.handle(KIND, async () => {
    await db.delete(sessions).where(lt(sessions.expiresAt, sql`now()`));
    await db.delete(receivedMessages).where(lt(receivedMessages.receivedAt, sql`now() - make_interval(days => ${KEEP_MESSAGE_IDS_DAYS})`));
    await db.delete(edgeAnnouncements).where(lt(edgeAnnouncements.lastSeenAt, sql`now() - make_interval(days => ${KEEP_ANNOUNCEMENTS_DAYS})`));
    await db
      .delete(throttles)
      .where(sql`${throttles.windowStartedAt} < now() - interval '1 day' AND (${throttles.lockedUntil} IS NULL OR ${throttles.lockedUntil} < now())`);
    await jobs.schedule(KIND, KIND, new Date(Date.now() + EVERY_MS));
  });
  // Keyed: however many nodes start, one timer exists.
  await jobs.schedule(KIND, KIND, new Date(Date.now() + EVERY_MS));
}
