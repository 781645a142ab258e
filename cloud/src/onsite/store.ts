import { and, eq, notInArray, sql } from 'drizzle-orm';
import type { LanSnapshot } from '@vigil/protocol';
import type { Db } from '../db/client.js';
import { edges, lanDevices } from '../db/schema.js';

/**
 * Replaces what an edge sees on its LAN with a newer snapshot. Returns the edge's site when the snapshot
 * was applied, null when it was older than the one already stored (a late redelivery) or the edge has no site.
 */
export async function applyLanSnapshot(db: Db, serial: string, snapshot: LanSnapshot): Promise<{ companyId: string; siteId: string } | null> {
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
    return { companyId: edge.companyId, siteId: edge.siteId };
  });
}
