import { and, eq, inArray } from 'drizzle-orm';
import { DevicePermissionName, type DeviceUse } from '@vigil/protocol/api';
import type { CloudContext } from '../context.js';
import { accounts } from '../db/schema.js';
import type { WindowMode } from './sessions.js';

/** The windows each use opens: configuration keeps none open. */
const MODES_OF: Record<DeviceUse, readonly WindowMode[]> = {
  [DevicePermissionName.liveView]: ['live'],
  [DevicePermissionName.playback]: ['playback', 'clip'],
  [DevicePermissionName.configuration]: [],
};

/**
 * Ends at once every open video window the company's accounts hold on the device for the given uses (a grant
 * released, expired or taken back; the site handed over). Returns how many windows it ended.
 */
export async function endDeviceUses(ctx: CloudContext, target: { companyId: string; deviceId: string; uses: readonly DeviceUse[] }): Promise<number> {
  const modes = new Set(target.uses.flatMap((u) => MODES_OF[u]));
  const windows = ctx.video.onDevice(target.deviceId).filter((w) => modes.has(w.mode));
  if (windows.length === 0) return 0;
  const members = await ctx.db
    .select({ id: accounts.id })
    .from(accounts)
    .where(and(eq(accounts.companyId, target.companyId), inArray(accounts.id, [...new Set(windows.map((w) => w.accountId))])));
  const ids = new Set(members.map((a) => a.id));
  let ended = 0;
  for (const w of windows) {
    if (!ids.has(w.accountId) || w.closed) continue;
    ctx.video.close(w, `The ${w.mode === 'live' ? 'live view' : 'playback'} permission on ${w.deviceName} has ended.`);
    ended++;
  }
  return ended;
}
