import { and, asc, eq, notInArray, sql } from 'drizzle-orm';
import { DeviceProtocol, type LanSnapshot } from '@vigil/protocol';
import type { Db } from '../db/client.js';
import { devices, edges, lanDevices } from '../db/schema.js';
import type { Presence } from '../edges/presence.js';

/** A device whose declared presence a snapshot changed (a return: losses wait for the offline delay). */
export interface LanPresenceChange {
  siteId: string;
  deviceId: string;
  online: boolean;
}

/**
 * Replaces what an edge sees on its LAN with a newer snapshot, and reports the presence of the devices added
 * from the LAN through this edge (protocol 'isapi', keyed by serial): in the snapshot → online, missing → offline
 * (declared once the offline delay passes). Devices of the inventory path are left alone. Returns the edge's site
 * and the presence changes when the snapshot was applied, null when it was older than the one already stored
 * (a late redelivery) or the edge has no site.
 */
export async function applyLanSnapshot(
  db: Db,
  presence: Presence,
  serial: string,
  snapshot: LanSnapshot,
): Promise<{ companyId: string; siteId: string; changes: LanPresenceChange[] } | null> {
  const at = new Date(snapshot.at);
  return db.transaction(async (tx) => {
    const [edge] = await tx
      .update(edges)
      .set({ lanSnapshotAt: at })
      .where(and(eq(edges.serial, serial), sql`(${edges.lanSnapshotAt} IS NULL OR ${edges.lanSnapshotAt} < ${at.toISOString()}::timestamptz)`))
      .returning({ companyId: edges.companyId, siteId: edges.siteId });
    if (!edge?.companyId || !edge.siteId) return null;
    const serials = snapshot.devices.map((d) => d.serial);
    await tx
      .delete(lanDevices)
      .where(serials.length > 0 ? and(eq(lanDevices.edgeSerial, serial), notInArray(lanDevices.serial, serials)) : eq(lanDevices.edgeSerial, serial));
    for (const d of snapshot.devices) {
      await tx
        .insert(lanDevices)
        .values({ edgeSerial: serial, serial: d.serial, data: d, seenAt: new Date(d.lastSeenAt) })
        .onConflictDoUpdate({ target: [lanDevices.edgeSerial, lanDevices.serial], set: { data: d, seenAt: new Date(d.lastSeenAt) } });
    }

    const seen = new Set(serials);
    const added = await tx
      .select({ deviceKey: devices.deviceKey, siteId: devices.siteId })
      .from(devices)
      .where(and(eq(devices.edgeSerial, serial), eq(devices.protocol, DeviceProtocol.isapi)))
      .orderBy(asc(devices.id));
    const changes: LanPresenceChange[] = [];
    for (const d of added) {
      const online = seen.has(d.deviceKey);
      // A device added to another site of the company keeps its own site (history, offline delay).
      const r = await presence.deviceReported(tx, { serial, companyId: edge.companyId, siteId: d.siteId }, { deviceId: d.deviceKey, online }, at);
      if (r?.changed) changes.push({ siteId: d.siteId, deviceId: r.deviceId, online });
    }
    return { companyId: edge.companyId, siteId: edge.siteId, changes };
  });
}
