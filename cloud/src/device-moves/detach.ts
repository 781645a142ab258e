import { inArray } from 'drizzle-orm';
import type { CloudContext } from '../context.js';
import type { Tx } from '../db/client.js';
import { arcPanels, cloudStorageChannels, cloudStorageDevices, devicePermissions, devices, sharedDevices } from '../db/schema.js';

/** What a detach found: the sites the devices were on and the edge boxes that reach them (to be told after commit). */
export interface Detached {
  deviceIds: string[];
  siteIds: string[];
  edgeSerials: string[];
}

/**
 * Clears every configuration bound to devices that leave their site (manual §3.3.5: "all the original device
 * configurations will be invalid"): the ARC service of a panel (its ARC settings, event types, transmission and
 * exception state), the cloud storage of its channels (settings and service) and a recorder's stored login, what
 * is shared of it with customers, and the permissions the company held on it from the old site's owner. History
 * (alarm log, clips, presence) stays with the site it happened on. Call it inside the move's transaction, then
 * `announceDetached` after the commit.
 */
export async function detachDevices(tx: Tx, deviceIds: readonly string[]): Promise<Detached> {
  const ids = [...new Set(deviceIds)];
  if (ids.length === 0) return { deviceIds: [], siteIds: [], edgeSerials: [] };
  const rows = await tx.select({ siteId: devices.siteId, edgeSerial: devices.edgeSerial }).from(devices).where(inArray(devices.id, ids));
  await tx.delete(arcPanels).where(inArray(arcPanels.deviceId, ids));
  await tx.delete(cloudStorageChannels).where(inArray(cloudStorageChannels.deviceId, ids));
  await tx.delete(cloudStorageDevices).where(inArray(cloudStorageDevices.deviceId, ids));
  await tx.delete(sharedDevices).where(inArray(sharedDevices.deviceId, ids));
  await tx.delete(devicePermissions).where(inArray(devicePermissions.deviceId, ids));
  return {
    deviceIds: ids,
    siteIds: [...new Set(rows.map((r) => r.siteId))],
    edgeSerials: [...new Set(rows.map((r) => r.edgeSerial).filter((s): s is string => s !== null))],
  };
}

/**
 * After the commit: the edge boxes that reach the devices get their alarm relay and clip recording again without
 * them, the sites named (old and new) are pushed and refreshed, and open video windows on the devices close.
 */
export function announceDetached(ctx: CloudContext, companyId: string, detached: Detached, otherSiteIds: readonly string[] = []): void {
  const siteIds = [...new Set([...detached.siteIds, ...otherSiteIds])];
  for (const siteId of siteIds) {
    ctx.alarms.siteChanged(siteId);
    ctx.hub.publish(companyId, { type: 'devices.changed', siteId });
  }
  for (const serial of detached.edgeSerials) ctx.clipsConfigurator.boxChanged(serial);
  for (const deviceId of detached.deviceIds) {
    for (const window of ctx.video.onDevice(deviceId)) ctx.video.close(window, 'The device has moved to another site.');
  }
}
