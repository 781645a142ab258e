import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import {
  ArcErrorCode,
  ArcServiceState,
  DeviceAccessMode,
  ErrorCode,
  type ArcConnectionMode,
  type ArcEventType,
  type ArcPanel,
  type EntrustedPanel,
} from '@vigil/protocol/api';
import { DeviceKind } from '@vigil/protocol';
import type { Db } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import { arcPanels, companies, devices, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { NO_SERVICE, type PanelService } from './states.js';

type PanelRow = typeof arcPanels.$inferSelect;
type DeviceRow = typeof devices.$inferSelect;

/** The states in which a panel is entrusted to its ARC, which sees and manages it. */
export const ENTRUSTED_STATES: ArcServiceState[] = [ArcServiceState.pending, ArcServiceState.accepted, ArcServiceState.suspended];

export function toService(row: PanelRow | null | undefined): PanelService {
  if (!row) return NO_SERVICE;
  return {
    state: row.state as ArcServiceState,
    arcCompanyId: row.arcCompanyId,
    accountNumber: row.accountNumber,
    eventTypes: row.eventTypes as ArcEventType[],
    pendingEventTypes: row.pendingEventTypes as ArcEventType[] | null,
    connectionMode: row.connectionMode as ArcConnectionMode,
    transmission: { impulseCountingTimeSec: row.impulseCountingMs / 1000, attempts: row.attempts, pollingRateSec: row.pollingMs / 1000 },
    armed: row.armed,
  };
}

function serviceView(row: PanelRow | null) {
  const { state, accountNumber, eventTypes, pendingEventTypes, connectionMode, transmission } = toService(row);
  return { state, accountNumber, eventTypes, pendingEventTypes, connectionMode, transmission, updatedAt: row?.updatedAt.toISOString() ?? null };
}

function deviceFields(d: DeviceRow) {
  return { deviceId: d.id, name: d.name, model: d.model, serial: d.serial, status: d.status === 'online' ? ('online' as const) : ('offline' as const) };
}

export const panelView = (device: DeviceRow, row: PanelRow | null): ArcPanel => ({ ...deviceFields(device), armed: row?.armed ?? false, ...serviceView(row) });

/** The manual's eligibility: security control panels added by Hik-Connect (P2P). */
const eligible = (d: DeviceRow) => d.kind === DeviceKind.alarmPanel && d.accessMode === DeviceAccessMode.p2p;

/** A site's panels that can take the ARC service, with their service. */
export async function sitePanels(db: Db, siteId: string): Promise<ArcPanel[]> {
  const rows = await db
    .select({ device: devices, panel: arcPanels })
    .from(devices)
    .leftJoin(arcPanels, eq(arcPanels.deviceId, devices.id))
    .where(and(eq(devices.siteId, siteId), eq(devices.kind, DeviceKind.alarmPanel), eq(devices.accessMode, DeviceAccessMode.p2p)))
    .orderBy(asc(devices.name), asc(devices.id));
  return rows.map((r) => panelView(r.device, r.panel));
}

/** A device of the site that can take the ARC service: another site's is "not found", another kind is refused. */
export async function sitePanel(db: Db, siteId: string, deviceId: string): Promise<DeviceRow> {
  const [device] = await db.select().from(devices).where(and(eq(devices.id, deviceId), eq(devices.siteId, siteId)));
  if (!device) throw new AppError(404, ErrorCode.deviceNotFound, 'Device not found.');
  if (!eligible(device)) {
    throw new AppError(422, ArcErrorCode.deviceNotEligible, 'The ARC service is for security control panels added by Hik-Connect (P2P).');
  }
  return device;
}

/**
 * Changes a panel's service in one transaction: `change` sees the current service (locked) and returns the next one
 * or throws, and then nothing changes.
 */
export async function updateService(db: Db, deviceId: string, change: (current: PanelService) => PanelService): Promise<PanelRow> {
  try {
    return await db.transaction(async (tx) => {
      const [row] = await tx.select().from(arcPanels).where(eq(arcPanels.deviceId, deviceId)).for('update');
      const { state, arcCompanyId, accountNumber, eventTypes, pendingEventTypes, connectionMode, transmission } = change(toService(row));
      const next = {
        state,
        arcCompanyId,
        accountNumber,
        eventTypes,
        pendingEventTypes,
        connectionMode,
        impulseCountingMs: Math.round(transmission.impulseCountingTimeSec * 1000),
        attempts: transmission.attempts,
        pollingMs: Math.round(transmission.pollingRateSec * 1000),
        updatedAt: new Date(),
      };
      const [saved] = await tx.insert(arcPanels).values({ deviceId, ...next }).onConflictDoUpdate({ target: arcPanels.deviceId, set: next }).returning();
      return saved!;
    });
  } catch (err) {
    if (isUniqueViolation(err, 'arc_panels_account_key')) {
      throw new AppError(409, ArcErrorCode.accountNumberTaken, 'Another panel entrusted to this ARC has this account number; ask the ARC for the one it assigned.');
    }
    throw err;
  }
}

/**
 * Records the arming a panel reported. Kept here because the connection mode may change only while disarmed; the
 * panel's state reports are what will call it.
 */
export async function setPanelArmed(db: Db, deviceId: string, armed: boolean): Promise<void> {
  await db.insert(arcPanels).values({ deviceId, armed }).onConflictDoUpdate({ target: arcPanels.deviceId, set: { armed } });
}

/** The panels entrusted to an ARC, pending ones first; or one panel of the ARC in whatever state an action left it. */
export async function entrustedPanels(db: Db, arcCompanyId: string, deviceId?: string): Promise<EntrustedPanel[]> {
  const rows = await db
    .select({ panel: arcPanels, device: devices, site: sites, installer: companies.name })
    .from(arcPanels)
    .innerJoin(devices, eq(devices.id, arcPanels.deviceId))
    .innerJoin(sites, eq(sites.id, devices.siteId))
    .innerJoin(companies, eq(companies.id, sites.companyId))
    .where(and(eq(arcPanels.arcCompanyId, arcCompanyId), deviceId ? eq(arcPanels.deviceId, deviceId) : inArray(arcPanels.state, ENTRUSTED_STATES)))
    .orderBy(desc(sql`${arcPanels.state} = 'pending'`), asc(companies.name), asc(sites.name), asc(devices.name), asc(devices.id));
  return rows.map((r) => ({
    ...deviceFields(r.device),
    installer: r.installer,
    site: { name: r.site.name, address: [r.site.address, r.site.city, r.site.stateProvince].filter(Boolean).join(', '), timeZone: r.site.timeZone },
    ...serviceView(r.panel),
  }));
}
