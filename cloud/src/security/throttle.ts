import { eq, sql } from 'drizzle-orm';
import { ErrorCode } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { throttles } from '../db/schema.js';
import { AppError } from '../http/errors.js';

/**
 * Counts failures per key (an email at login, a serial being claimed) and locks the key for a while
 * once too many fall within the window. Kept in the database so every cloud node sees the same count.
 */
export class Throttle {
  constructor(
    private readonly db: Db,
    private readonly maxFailures: number,
    private readonly lockSec: number,
  ) {}

  /** Seconds until the key may try again, or 0 when it is not locked. */
  async lockedFor(key: string): Promise<number> {
    const [row] = await this.db
      .select({ remaining: sql<number>`ceil(extract(epoch from (${throttles.lockedUntil} - now())))::int` })
      .from(throttles)
      .where(eq(throttles.key, key));
    return row && row.remaining > 0 ? row.remaining : 0;
  }

  /** Records a failure; returns the seconds of the lock it caused, or 0. */
  async fail(key: string): Promise<number> {
    const window = sql.raw(`interval '${this.lockSec} seconds'`);
    const [row] = await this.db
      .insert(throttles)
      .values({ key, failures: 1 })
      .onConflictDoUpdate({
        target: throttles.key,
        set: {
          failures: sql`CASE WHEN ${throttles.windowStartedAt} < now() - ${window} THEN 1 ELSE ${throttles.failures} + 1 END`,
          windowStartedAt: sql`CASE WHEN ${throttles.windowStartedAt} < now() - ${window} THEN now() ELSE ${throttles.windowStartedAt} END`,
        },
      })
      .returning({ failures: throttles.failures });
    if (!row || row.failures < this.maxFailures) return 0;
    await this.db
      .update(throttles)
      .set({ failures: 0, windowStartedAt: sql`now()`, lockedUntil: sql`now() + ${window}` })
      .where(eq(throttles.key, key));
    return this.lockSec;
  }

  async reset(key: string): Promise<void> {
    await this.db.delete(throttles).where(eq(throttles.key, key));
  }
}

/** The refusal while a verification code is locked after too many wrong guesses. */
export function codeLocked(seconds: number, what: string): AppError {
  const minutes = Math.ceil(seconds / 60);
  return new AppError(429, ErrorCode.claimLocked, `Too many wrong verification codes for ${what}: try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`, {
    'retry-after': String(seconds),
  });
}
