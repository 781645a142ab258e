import { and, arrayOverlaps, asc, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { DeviceKind } from '@vigil/protocol';
import {
  DeviceAccessMode,
  DeviceMoveStatus,
  ErrorCode,
  PERSONAL_SITE_MAX_CHANNELS,
  SiteAdminErrorCode,
  SiteOperation,
  SiteStatus,
  SiteType,
  type DeviceMove,
} from '@vigil/protocol/api';
import type { Db, Tx } from '../db/client.js';
import { accounts, companies, deviceMoves, devices, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { requireSiteOperation } from '../sites/gate.js';
import { detachDevices, type Detached } from './detach.js';

type SiteRow = typeof sites.$inferSelect;
type DeviceRow = typeof devices.$inferSelect;
type MoveRow = typeof deviceMoves.$inferSelect;

const refuse = (code: string, message: string) => new AppError(422, code, message);

/** Devices that may leave their site (§3.3.5): only those added by Hik-Connect P2P. */
export function requireP2p(rows: readonly Pick<DeviceRow, 'name' | 'accessMode'>[]): void {
  const ip = rows.filter((d) => d.accessMode === DeviceAccessMode.ipDomain);
  if (ip.length > 0) {
    throw refuse(
      SiteAdminErrorCode.deviceNotP2p,
      `Only devices added by Hik-Connect (P2P) can be moved; added by IP address or domain name: ${ip.map((d) => d.name).join(', ')}.`,
    );
  }
}

/**
 * A site devices may move to from `source`: a non-tenant site (not Shared) of the same Site Owner (both without
 * one counts as the same), its status allowing Manage Device, taking the devices under the site rules.
 */
export function requireTarget(source: Pick<SiteRow, 'id' | 'ownerAccountId'>, target: Pick<SiteRow, 'id' | 'name' | 'type' | 'status' | 'ownerAccountId'>): void {
  if (target.id === source.id) throw refuse(SiteAdminErrorCode.sameSite, 'The devices are on this site already: choose another site.');
  if (target.status === SiteStatus.shared) {
    throw refuse(SiteAdminErrorCode.targetIsTenantSite, `${target.name} is shared with tenant customers: devices move only to a non-tenant site.`);
  }
  requireSiteOperation(target, SiteOperation.manageDevice);
  if (target.ownerAccountId !== source.ownerAccountId) {
    throw refuse(SiteAdminErrorCode.differentOwner, `${target.name} does not belong to the same Site Owner as the devices' site.`);
  }
}

/** The rules every way onto a site shares (as bindDevices): no AC router on a team site, at most 128 channels on a personal one. */
export function requireFits(target: { name: string; type: string }, channelsThere: number, moving: readonly Pick<DeviceRow, 'name' | 'kind' | 'channels'>[]): void {
  const routers = moving.filter((d) => d.kind === DeviceKind.router);
  if (target.type === SiteType.team && routers.length > 0) {
    throw refuse(ErrorCode.acRouterTeamSite, `An AC router cannot be on a team site (${routers.map((d) => d.name).join(', ')}).`);
  }
  if (target.type === SiteType.personal) {
    const adding = moving.reduce((n, d) => n + d.channels, 0);
    if (channelsThere + adding > PERSONAL_SITE_MAX_CHANNELS) {
      throw refuse(
        ErrorCode.siteChannelLimit,
        `A personal site takes at most ${PERSONAL_SITE_MAX_CHANNELS} channels: "${target.name}" has ${channelsThere} and these devices bring ${adding}.`,
      );
    }
  }
}

export async function channelsOn(db: Db | Tx, siteId: string): Promise<number> {
  const [sum] = await db.select({ n: sql<number>`coalesce(sum(${devices.channels}), 0)::int` }).from(devices).where(eq(devices.siteId, siteId));
  return sum?.n ?? 0;
}

/** Refuses devices that are in a move still waiting for the owner. */
export async function requireNotPending(tx: Tx, deviceIds: readonly string[]): Promise<void> {
  const [pending] = await tx
    .select({ id: deviceMoves.id })
    .from(deviceMoves)
    .where(and(eq(deviceMoves.status, DeviceMoveStatus.pending), arrayOverlaps(deviceMoves.deviceIds, [...deviceIds])))
    .limit(1);
  if (pending) throw new AppError(409, SiteAdminErrorCode.deviceMovePending, "A device is already in a move waiting for the Site Owner's answer.");
}

/**
 * Locks the sites of a move in one statement, in the order of their ids, so two moves in opposite directions take
 * their locks in the same order and never deadlock.
 */
export async function lockSites(tx: Tx, ids: readonly string[]) {
  const rows = await tx.select().from(sites).where(inArray(sites.id, [...new Set(ids)])).orderBy(asc(sites.id)).for('update');
  return new Map(rows.map((s) => [s.id, s]));
}

/**
 * Does a move: its devices, still on the source site, go to the target (checked again under lock, as the owner
 * may answer much later), losing every configuration bound to them. Returns what to announce after the commit.
 */
export async function executeMove(tx: Tx, move: MoveRow): Promise<Detached> {
  const locked = await lockSites(tx, [move.sourceSiteId, move.targetSiteId]);
  const source = locked.get(move.sourceSiteId);
  const target = locked.get(move.targetSiteId);
  if (!source || !target) throw new AppError(404, ErrorCode.siteNotFound, 'The source or target site no longer exists.');
  const rows = await tx.select().from(devices).where(inArray(devices.id, move.deviceIds)).orderBy(asc(devices.id)).for('update');
  if (rows.length !== move.deviceIds.length || rows.some((d) => d.siteId !== source.id)) {
    throw new AppError(409, SiteAdminErrorCode.deviceMoveStale, 'A device of this move is no longer on its site: the move cannot be done.');
  }
  requireSiteOperation(source, SiteOperation.manageDevice);
  requireTarget(source, target);
  requireFits(target, await channelsOn(tx, target.id), rows);
  const detached = await detachDevices(tx, move.deviceIds);
  await tx.update(devices).set({ siteId: target.id, updatedAt: new Date() }).where(inArray(devices.id, move.deviceIds));
  await tx.update(deviceMoves).set({ status: DeviceMoveStatus.approved, decidedAt: sql`now()` }).where(eq(deviceMoves.id, move.id));
  return detached;
}

const source = alias(sites, 'source_site');
const target = alias(sites, 'target_site');

/** Moves with the names a reader needs, newest first. */
export async function listMoves(db: Db | Tx, where: SQL): Promise<DeviceMove[]> {
  const rows = await db
    .select({ m: deviceMoves, sourceName: source.name, targetName: target.name, companyName: companies.name, requester: accounts.name })
    .from(deviceMoves)
    .innerJoin(source, eq(source.id, deviceMoves.sourceSiteId))
    .innerJoin(target, eq(target.id, deviceMoves.targetSiteId))
    .innerJoin(companies, eq(companies.id, deviceMoves.companyId))
    .leftJoin(accounts, eq(accounts.id, deviceMoves.requestedBy))
    .where(where)
    .orderBy(desc(deviceMoves.createdAt), desc(deviceMoves.id))
    .limit(200);
  const ids = [...new Set(rows.flatMap((r) => r.m.deviceIds))];
  const named = ids.length > 0 ? await db.select({ id: devices.id, name: devices.name, serial: devices.serial }).from(devices).where(inArray(devices.id, ids)) : [];
  const byId = new Map(named.map((d) => [d.id, d]));
  return rows.map(({ m, ...r }) => ({
    id: m.id,
    status: m.status as DeviceMove['status'],
    sourceSiteId: m.sourceSiteId,
    sourceSiteName: r.sourceName,
    targetSiteId: m.targetSiteId,
    targetSiteName: r.targetName,
    companyName: r.companyName,
    // A device removed since keeps its place in the record, without a name.
    devices: m.deviceIds.map((id) => byId.get(id) ?? { id, name: '', serial: '' }),
    requestedByName: r.requester,
    createdAt: m.createdAt.toISOString(),
    decidedAt: m.decidedAt?.toISOString() ?? null,
  }));
}

export async function moveById(db: Db | Tx, id: string): Promise<DeviceMove> {
  const [one] = await listMoves(db, eq(deviceMoves.id, id));
  return one!;
}
