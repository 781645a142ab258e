import { and, eq, sql } from 'drizzle-orm';
import type { DeviceReport } from '@vigil/protocol';
import type { Db, Tx } from '../db/client.js';
import { devices, edges, presenceHistory, sites } from '../db/schema.js';
import type { JobQueue } from '../jobs/queue.js';
import type { LiveHub } from '../live/hub.js';

export const JobKind = { edgeOffline: 'edge.offline', deviceOffline: 'device.offline' } as const;
const edgeJobKey = (serial: string) => `edge-offline:${serial}`;
const deviceJobKey = (id: string) => `device-offline:${id}`;

type Subject = { type: 'edge' | 'device'; id: string; companyId: string | null; siteId: string | null };

async function record(tx: Db | Tx, s: Subject, state: 'online' | 'offline', since: Date, reason: string) {
  await tx.insert(presenceHistory).values({
    subjectType: s.type,
    subjectId: s.id,
    companyId: s.companyId,
    siteId: s.siteId,
    state,
    since,
    reason,
  });
}

/** Told when a box is declared offline or comes back (not on a short outage within the offline delay). */
export type EdgeStatusListener = (serial: string, siteId: string, status: 'online' | 'offline') => void;

/**
 * Declared presence of edges and devices. A loss is declared only once the offline delay has passed
 * without the subject coming back (a durable job), so a short outage never shows as offline; a return
 * is declared at once.
 */
export class Presence {
  private readonly statusListeners: EdgeStatusListener[] = [];

  constructor(
    private readonly db: Db,
    private readonly jobs: JobQueue,
    private readonly hub: LiveHub,
  ) {
    jobs.handle(JobKind.edgeOffline, (p) => this.declareEdgeOffline(String(p.serial)));
    jobs.handle(JobKind.deviceOffline, (p) => this.declareDeviceOffline(String(p.deviceId)));
  }

  onEdgeStatus(listener: EdgeStatusListener): void {
    this.statusListeners.push(listener);
  }

  private edgeStatusChanged(serial: string, siteId: string, status: 'online' | 'offline'): void {
    for (const listener of this.statusListeners) listener(serial, siteId, status);
  }

  async edgeConnected(serial: string): Promise<void> {
    await this.jobs.cancel(edgeJobKey(serial));
    const now = new Date();
    const changed = await this.db.transaction(async (tx) => {
      const [edge] = await tx.select().from(edges).where(eq(edges.serial, serial)).for('update');
      if (!edge) return null;
      const wasOffline = edge.status !== 'online';
      await tx
        .update(edges)
        .set({
          connected: true,
          lastSeenAt: now,
          provisionedAt: edge.provisionedAt ?? now,
          ...(wasOffline ? { status: 'online', statusChangedAt: now } : {}),
        })
        .where(eq(edges.serial, serial));
      if (wasOffline) {
        await record(tx, { type: 'edge', id: serial, companyId: edge.companyId, siteId: edge.siteId }, 'online', now, 'connected');
      }
      return { edge, wasOffline };
    });
    if (changed?.edge.siteId) {
      this.hub.publish(changed.edge.companyId, { type: 'edge.status', siteId: changed.edge.siteId, serial, status: 'online', connected: true, at: now.toISOString() });
      if (changed.wasOffline) this.edgeStatusChanged(serial, changed.edge.siteId, 'online');
    }
  }

  async edgeDisconnected(serial: string): Promise<void> {
    const now = new Date();
    const [edge] = await this.db
      .update(edges)
      .set({ connected: false, disconnectedAt: now })
      .where(eq(edges.serial, serial))
      .returning();
    if (!edge?.siteId) return;
    const delaySec = await this.edgeDelaySec(serial);
    await this.jobs.schedule(edgeJobKey(serial), JobKind.edgeOffline, new Date(now.getTime() + delaySec * 1000), { serial });
    this.hub.publish(edge.companyId, { type: 'edge.status', siteId: edge.siteId, serial, status: edge.status === 'online' ? 'online' : 'offline', connected: false, at: now.toISOString() });
  }

  /** After a restart no edge is connected to this process: each gets its offline timer again. */
  async resumeAfterRestart(): Promise<void> {
    const stale = await this.db.select({ serial: edges.serial }).from(edges).where(eq(edges.connected, true));
    for (const { serial } of stale) await this.edgeDisconnected(serial);
  }

  async forgetEdge(serial: string, deviceIds: readonly string[]): Promise<void> {
    await this.jobs.cancel(edgeJobKey(serial));
    for (const id of deviceIds) await this.jobs.cancel(deviceJobKey(id));
  }

  private async edgeDelaySec(serial: string): Promise<number> {
    const [row] = await this.db
      .select({ delay: sql<number>`coalesce(${edges.offlineDelaySec}, ${sites.offlineDelaySec})` })
      .from(edges)
      .innerJoin(sites, eq(sites.id, edges.siteId))
      .where(eq(edges.serial, serial));
    return row?.delay ?? 300;
  }

  private async declareEdgeOffline(serial: string): Promise<void> {
    const now = new Date();
    const edge = await this.db.transaction(async (tx) => {
      const [e] = await tx.select().from(edges).where(eq(edges.serial, serial)).for('update');
      if (!e || e.connected || e.status === 'offline') return null;
      await tx.update(edges).set({ status: 'offline', statusChangedAt: now }).where(eq(edges.serial, serial));
      const since = e.disconnectedAt ?? now;
      await record(tx, { type: 'edge', id: serial, companyId: e.companyId, siteId: e.siteId }, 'offline', since, 'offline delay elapsed');
      // Devices behind an offline edge cannot be reached either.
      const lost = await tx
        .update(devices)
        .set({ status: 'offline', statusChangedAt: now })
        .where(and(eq(devices.edgeSerial, serial), eq(devices.status, 'online')))
        .returning({ id: devices.id });
      for (const d of lost) {
        await record(tx, { type: 'device', id: d.id, companyId: e.companyId, siteId: e.siteId }, 'offline', since, 'edge offline');
      }
      return e;
    });
    if (edge?.siteId) {
      this.hub.publish(edge.companyId, { type: 'edge.status', siteId: edge.siteId, serial, status: 'offline', connected: false, at: now.toISOString() });
      this.hub.publish(edge.companyId, { type: 'devices.changed', siteId: edge.siteId });
      this.edgeStatusChanged(serial, edge.siteId, 'offline');
    }
  }

  /** Applies a device's reported state (from an inventory or a state message) seen by the edge at `at`. */
  async deviceReported(
    tx: Tx,
    edge: { serial: string; companyId: string; siteId: string },
    report: Pick<DeviceReport, 'deviceId' | 'online'> & Partial<DeviceReport>,
    at: Date,
  ): Promise<{ changed: boolean; deviceId: string } | null> {
    const [device] = await tx
      .select()
      .from(devices)
      .where(and(eq(devices.edgeSerial, edge.serial), eq(devices.deviceKey, report.deviceId)))
      .for('update');
    const identity = report.model === undefined ? {} : {
      kind: report.kind!, protocol: report.protocol!, manufacturer: report.manufacturer!, model: report.model,
      serial: report.serial!, firmware: report.firmware!, host: report.host!, port: report.port!,
    };
    if (!device) {
      if (report.model === undefined) return null; // a state for a device we were never told about
      const [created] = await tx
        .insert(devices)
        .values({
          ...(identity as Required<typeof identity>),
          companyId: edge.companyId,
          siteId: edge.siteId,
          edgeSerial: edge.serial,
          deviceKey: report.deviceId,
          // A camera is a video channel itself; a recorder's channels are not known on this path.
          channels: report.kind === 'camera' ? 1 : 0,
          name: report.name || report.model,
          reportedOnline: report.online,
          reportedAt: at,
          status: report.online ? 'online' : 'offline',
          statusChangedAt: at,
          lastSeenAt: report.online ? at : null,
        })
        .returning({ id: devices.id });
      await record(tx, { type: 'device', id: created!.id, ...edge }, report.online ? 'online' : 'offline', at, 'discovered');
      return { changed: true, deviceId: created!.id };
    }
    return this.applyReport(tx, device, report.online, at, identity, 'reported online');
  }

  /**
   * A device that reaches the cloud by itself (P2P connection, or polled by IP/domain) came or went at `at`.
   * Publishes the change on the live hub.
   */
  async directReport(deviceId: string, online: boolean, at: Date, reason: string): Promise<void> {
    const result = await this.db.transaction(async (tx) => {
      const [device] = await tx.select().from(devices).where(eq(devices.id, deviceId)).for('update');
      if (!device) return null;
      return { device, ...(await this.applyReport(tx, device, online, at, {}, reason)) };
    });
    if (result?.changed) {
      this.hub.publish(result.device.companyId, { type: 'device.status', siteId: result.device.siteId, deviceId, status: 'online', at: at.toISOString() });
    }
  }

  /** The state logic every report goes through: a return is declared at once, a loss after the offline delay. */
  private async applyReport(
    tx: Tx,
    device: typeof devices.$inferSelect,
    online: boolean,
    at: Date,
    identity: Partial<typeof devices.$inferInsert>,
    reason: string,
  ): Promise<{ changed: boolean; deviceId: string }> {
    // Reports can arrive out of order (a backlog from the outbox): an older one changes nothing.
    if (at < device.reportedAt) {
      if (Object.keys(identity).length > 0) await tx.update(devices).set(identity).where(eq(devices.id, device.id));
      return { changed: false, deviceId: device.id };
    }
    const now = new Date();
    const becameOnline = online && device.status !== 'online';
    // reportedAt is when the reported state last changed: a repeat (an inventory after a reconnect) keeps it.
    const stateChanged = online !== device.reportedOnline;
    await tx
      .update(devices)
      .set({
        ...identity,
        updatedAt: now,
        ...(stateChanged ? { reportedOnline: online, reportedAt: at } : {}),
        ...(online ? { lastSeenAt: at } : {}),
        ...(becameOnline ? { status: 'online', statusChangedAt: now } : {}),
      })
      .where(eq(devices.id, device.id));
    const subject = { type: 'device' as const, id: device.id, companyId: device.companyId, siteId: device.siteId };
    if (becameOnline) await record(tx, subject, 'online', at, reason);
    if (online) {
      await this.jobs.cancel(deviceJobKey(device.id));
    } else if (stateChanged) {
      const delay = device.offlineDelaySec ?? (await this.siteDelaySec(tx, device.siteId));
      await this.jobs.schedule(deviceJobKey(device.id), JobKind.deviceOffline, new Date(at.getTime() + delay * 1000), { deviceId: device.id });
    }
    return { changed: becameOnline, deviceId: device.id };
  }

  private async siteDelaySec(tx: Tx, siteId: string): Promise<number> {
    const [s] = await tx.select({ d: sites.offlineDelaySec }).from(sites).where(eq(sites.id, siteId));
    return s?.d ?? 300;
  }

  private async declareDeviceOffline(deviceId: string): Promise<void> {
    const now = new Date();
    const d = await this.db.transaction(async (tx) => {
      const [device] = await tx.select().from(devices).where(eq(devices.id, deviceId)).for('update');
      if (!device || device.reportedOnline || device.status === 'offline') return null;
      await tx.update(devices).set({ status: 'offline', statusChangedAt: now }).where(eq(devices.id, deviceId));
      await record(tx, { type: 'device', id: deviceId, companyId: device.companyId, siteId: device.siteId }, 'offline', device.reportedAt, 'offline delay elapsed');
      return device;
    });
    if (d) this.hub.publish(d.companyId, { type: 'device.status', siteId: d.siteId, deviceId, status: 'offline', at: now.toISOString() });
  }
}
