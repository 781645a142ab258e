import { and, eq } from 'drizzle-orm';
import type { DiscoveredDevice } from '@vigil/protocol';
import { ErrorCode } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { edges, lanDevices } from '../db/schema.js';
import type { Tunnel } from '../edges/tunnel.js';
import { AppError } from '../http/errors.js';

/** "a, b and c", for messages that name devices. */
export function names(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export interface Sighting {
  edgeSerial: string;
  serial: string;
  device: DiscoveredDevice;
  seenAt: Date;
  snapshotAt: Date | null;
}

/**
 * What a site's edge boxes see of the requested devices on the LAN: every sighting, each serial's sightings by
 * edge box, and its freshest one. A serial no edge box of the site sees is refused (LAN_DEVICE_NOT_FOUND).
 */
export async function sightingsOf(db: Db, site: { id: string; companyId: string }, serials: readonly string[]) {
  const rows = await db
    .select({ edgeSerial: lanDevices.edgeSerial, serial: lanDevices.serial, data: lanDevices.data, seenAt: lanDevices.seenAt, snapshotAt: edges.lanSnapshotAt })
    .from(lanDevices)
    .innerJoin(edges, eq(edges.serial, lanDevices.edgeSerial))
    .where(and(eq(edges.siteId, site.id), eq(edges.companyId, site.companyId)));
  const all: Sighting[] = rows.map((r) => ({ edgeSerial: r.edgeSerial, serial: r.serial, device: r.data as DiscoveredDevice, seenAt: r.seenAt, snapshotAt: r.snapshotAt }));
  const wanted = new Set(serials);
  const byEdge = new Map<string, Map<string, DiscoveredDevice>>();
  const freshest = new Map<string, Sighting>();
  for (const s of all) {
    if (!wanted.has(s.serial)) continue;
    let m = byEdge.get(s.serial);
    if (!m) byEdge.set(s.serial, (m = new Map()));
    m.set(s.edgeSerial, s.device);
    const prev = freshest.get(s.serial);
    if (!prev || s.seenAt > prev.seenAt) freshest.set(s.serial, s);
  }
  const missing = serials.filter((s) => !freshest.has(s));
  if (missing.length > 0) {
    throw new AppError(404, ErrorCode.lanDeviceNotFound, `No edge box of this site sees ${missing.length > 1 ? 'the devices' : 'the device'} ${names(missing)} on the LAN.`);
  }
  return {
    /** Every device the site's edge boxes see, requested or not. */
    all,
    /** serial → (edge box → device) for the requested serials. */
    byEdge,
    /** The requested device as last seen. */
    device: (serial: string) => freshest.get(serial)!.device,
    freshest: (serial: string) => freshest.get(serial)!,
  };
}

/**
 * The edge box that does the work on a set of devices: one that sees every one of them, a connected one
 * first, then the one with the freshest picture. Refuses devices split over several boxes.
 */
export function edgeSeeingAll(
  sightings: Awaited<ReturnType<typeof sightingsOf>>,
  serials: readonly string[],
  tunnel: Pick<Tunnel, 'isConnected'>,
  verb: string,
): { serial: string; connected: boolean } {
  const snapshotAt = new Map<string, number>();
  for (const s of sightings.all) if (sightings.byEdge.has(s.serial)) snapshotAt.set(s.edgeSerial, s.snapshotAt?.getTime() ?? 0);
  const chosen = [...snapshotAt]
    .filter(([e]) => serials.every((s) => sightings.byEdge.get(s)!.has(e)))
    .map(([e, at]) => ({ serial: e, connected: tunnel.isConnected(e), at }))
    .sort((a, b) => Number(b.connected) - Number(a.connected) || b.at - a.at)[0];
  if (!chosen) {
    const seenBy = new Map<string, string[]>();
    for (const s of sightings.all) if (sightings.byEdge.has(s.serial)) seenBy.set(s.edgeSerial, [...(seenBy.get(s.edgeSerial) ?? []), s.serial]);
    const split = [...seenBy].map(([e, s]) => `edge box ${e} sees ${names(s.sort())}`).join('; ');
    throw new AppError(400, ErrorCode.devicesOnSeveralEdges, `No single edge box sees all these devices (${split}); ${verb} the devices of each edge box separately.`);
  }
  return { serial: chosen.serial, connected: chosen.connected };
}
