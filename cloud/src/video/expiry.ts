import { and, eq, gt, inArray, isNotNull, lte } from 'drizzle-orm';
import { DevicePermissionName, SiteStatus, type DeviceUse } from '@vigil/protocol/api';
import type { CloudContext } from '../context.js';
import { devicePermissions, sites } from '../db/schema.js';
import { usableDevices } from '../sites/gate.js';
import { endDeviceUses } from './revoke.js';

/** The uses that keep a window open; a Configuration grant running out ends nothing. */
const WINDOW_USES: readonly DeviceUse[] = [DevicePermissionName.liveView, DevicePermissionName.playback];

/** How often to look: a minute of a real hour, proportionally less when tests shorten the hour. */
export const sweepIntervalMs = (permissionHourMs: number): number => Math.min(60_000, Math.max(100, Math.round(permissionHourMs / 60)));

/**
 * One pass: the live view and playback grants that ran out in (since, now] end the company's open windows on
 * their device, unless the company still holds that use some other way (another grant, Mode B sharing).
 * Returns how many windows it ended.
 */
export async function sweepExpiredGrants(ctx: CloudContext, since: Date, now: Date): Promise<number> {
  const expired = await ctx.db
    .selectDistinct({ site: { id: sites.id, name: sites.name, status: sites.status }, companyId: devicePermissions.companyId, deviceId: devicePermissions.deviceId, use: devicePermissions.permission })
    .from(devicePermissions)
    .innerJoin(sites, eq(sites.id, devicePermissions.siteId))
    .where(
      and(
        eq(devicePermissions.status, 'approved'),
        inArray(devicePermissions.permission, [...WINDOW_USES]),
        isNotNull(devicePermissions.deviceId),
        gt(devicePermissions.expiresAt, since),
        lte(devicePermissions.expiresAt, now),
      ),
    );
  let ended = 0;
  for (const grant of expired) {
    const deviceId = grant.deviceId!;
    // Most grants run out with no window open on their device: nothing to look up then.
    if (ctx.video.onDevice(deviceId).length === 0) continue;
    const use = grant.use as DeviceUse;
    // A disbanded site leaves nothing usable.
    const usable = grant.site.status === SiteStatus.disbanded ? [] : await usableDevices(ctx.db, { companyId: grant.companyId }, grant.site, use);
    if (usable === null || usable.includes(deviceId)) continue;
    ended += await endDeviceUses(ctx, { companyId: grant.companyId, deviceId, uses: [use] });
  }
  return ended;
}

/** Runs the sweep from now on, one pass after another; `stop` waits for a pass under way. */
export function startGrantExpirySweep(ctx: CloudContext): { stop(): Promise<void> } {
  const every = sweepIntervalMs(ctx.config.permissionHourMs);
  let since = new Date();
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  const pass = async () => {
    const now = new Date();
    try {
      const ended = await sweepExpiredGrants(ctx, since, now);
      since = now;
      if (ended > 0) ctx.log.info({ ended }, 'video windows ended: their grants expired');
    } catch (err) {
      // The same interval is looked at again next time.
      ctx.log.warn({ err }, 'grant expiry sweep failed');
    }
  };
  const next = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pass().finally(next);
    }, every);
    timer.unref();
  };
  next();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
