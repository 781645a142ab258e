import { and, asc, desc, eq, type SQL } from 'drizzle-orm';
import { ErrorCode, type AddEdgeBody } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { devices, edgeAnnouncements, edges, presenceHistory, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { codeLocked, type Throttle } from '../security/throttle.js';
import { verifySecret } from '../security/secrets.js';
import type { Auth } from '../types.js';
import type { Presence } from './presence.js';
import type { Tunnel } from './tunnel.js';

type EdgeRow = typeof edges.$inferSelect;

export function edgeView(e: EdgeRow, siteDelaySec: number) {
  return {
    serial: e.serial,
    siteId: e.siteId!,
    name: e.name,
    status: e.status === 'online' ? ('online' as const) : ('offline' as const),
    connected: e.connected,
    provisioned: e.provisionedAt !== null,
    statusChangedAt: e.statusChangedAt?.toISOString() ?? null,
    lastSeenAt: e.lastSeenAt?.toISOString() ?? null,
    agentVersion: e.agentVersion,
    offlineDelaySec: e.offlineDelaySec,
    effectiveOfflineDelaySec: e.offlineDelaySec ?? siteDelaySec,
    claimedAt: (e.claimedAt ?? e.createdAt).toISOString(),
  };
}

/** Adding boxes to sites, removing them, and reading them back in the caller's company only. */
export class EdgeService {
  constructor(
    private readonly db: Db,
    private readonly claimThrottle: Throttle,
    private readonly tunnel: Tunnel,
    private readonly presence: Presence,
  ) {}

  /**
   * Adds a box to a site by its serial and verification code. The box must have connected once (it
   * announced the hash of its code); the matching connection receives the box's own credentials.
   */
  async claim(auth: Auth, site: { id: string; companyId: string; offlineDelaySec: number }, body: AddEdgeBody) {
    const key = `claim:${body.serial}`;
    const locked = await this.claimThrottle.lockedFor(key);
    if (locked > 0) throw codeLocked(locked, 'this box');
    const [existing] = await this.db.select({ serial: edges.serial }).from(edges).where(eq(edges.serial, body.serial));
    if (existing) throw new AppError(409, ErrorCode.edgeAlreadyAdded, 'This edge box has already been added to a site.');
    const announced = await this.db.select().from(edgeAnnouncements).where(eq(edgeAnnouncements.serial, body.serial)).orderBy(desc(edgeAnnouncements.lastSeenAt));
    if (announced.length === 0) {
      throw new AppError(404, ErrorCode.edgeNeverConnected, 'This edge box has not connected to the cloud yet: check that it is powered and has internet access.');
    }
    let match: (typeof announced)[number] | undefined;
    for (const a of announced) if (await verifySecret(body.verificationCode, a.codeHash)) match = a;
    if (!match) {
      const lockedNow = await this.claimThrottle.fail(key);
      if (lockedNow > 0) throw codeLocked(lockedNow, 'this box');
      throw new AppError(400, ErrorCode.verificationCodeInvalid, 'The verification code does not match this edge box. It is printed on the box label.');
    }
    await this.claimThrottle.reset(key);
    const now = new Date();
    const row = await this.db.transaction(async (tx) => {
      await tx.delete(edgeAnnouncements).where(eq(edgeAnnouncements.serial, body.serial));
      const [created] = await tx
        .insert(edges)
        .values({
          serial: body.serial,
          companyId: site.companyId,
          siteId: site.id,
          name: body.name ?? body.serial,
          claimNonce: match.nonce,
          claimCodeHash: match.codeHash,
          claimedAt: now,
          claimedBy: auth.accountId,
          status: 'offline',
        })
        .onConflictDoNothing()
        .returning();
      if (!created) throw new AppError(409, ErrorCode.edgeAlreadyAdded, 'This edge box has already been added to a site.');
      return created;
    });
    await this.tunnel.offerCredentials(body.serial);
    return edgeView(row, site.offlineDelaySec);
  }

  /** Removes a box: its devices and credentials go; a connected box is dropped and falls back to claim mode. */
  async remove(serial: string): Promise<void> {
    const deviceIds = await this.db.select({ id: devices.id }).from(devices).where(eq(devices.edgeSerial, serial));
    await this.db.delete(edges).where(eq(edges.serial, serial));
    await this.presence.forgetEdge(serial, deviceIds.map((d) => d.id));
    this.tunnel.disconnect(serial);
  }

  /** Loads a box of a site the caller may see; any other serial is "not found". */
  async visible(auth: Auth, serial: string, scope: SQL) {
    const [row] = await this.db
      .select({ edge: edges, site: sites })
      .from(edges)
      .innerJoin(sites, eq(sites.id, edges.siteId))
      .where(and(eq(edges.serial, serial), scope));
    if (!row) throw new AppError(404, ErrorCode.edgeNotFound, 'Edge box not found.');
    return row;
  }

  async list(siteId: string, siteDelaySec: number) {
    const rows = await this.db.select().from(edges).where(eq(edges.siteId, siteId)).orderBy(asc(edges.claimedAt));
    return rows.map((e) => edgeView(e, siteDelaySec));
  }

  async history(subjectType: 'edge' | 'device', subjectId: string, limit = 200) {
    const rows = await this.db
      .select()
      .from(presenceHistory)
      .where(and(eq(presenceHistory.subjectType, subjectType), eq(presenceHistory.subjectId, subjectId)))
      .orderBy(desc(presenceHistory.id))
      .limit(limit);
    return rows.map((h) => ({ state: h.state as 'online' | 'offline', at: h.at.toISOString(), since: h.since.toISOString(), reason: h.reason }));
  }
}
