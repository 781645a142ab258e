import { desc, eq, inArray, type SQL } from 'drizzle-orm';
import { DeviceInvitationStatus, type DeviceInvitation, type DeviceUse, type InvitedDevice } from '@vigil/protocol/api';
import type { Db, Tx } from '../db/client.js';
import { accounts, deviceInvitations, devices } from '../db/schema.js';

/** A pending invitation past its expiry reads as Expired (§3.3.6: it is invalid after 3 days). */
export function invitationStatus(row: { status: string; expiresAt: Date }, now = Date.now()): DeviceInvitation['status'] {
  if (row.status === DeviceInvitationStatus.pending && row.expiresAt.getTime() <= now) return DeviceInvitationStatus.expired;
  return row.status as DeviceInvitation['status'];
}

/** Invitations with the customer's name and the devices' names, newest first. */
export async function listInvitations(db: Db | Tx, where: SQL): Promise<DeviceInvitation[]> {
  const rows = await db
    .select({ i: deviceInvitations, customerName: accounts.name, customerEmail: accounts.email })
    .from(deviceInvitations)
    .innerJoin(accounts, eq(accounts.id, deviceInvitations.customerAccountId))
    .where(where)
    .orderBy(desc(deviceInvitations.createdAt), desc(deviceInvitations.id));
  const ids = [...new Set(rows.flatMap((r) => r.i.deviceIds))];
  const known = ids.length
    ? await db.select({ id: devices.id, name: devices.name, serial: devices.serial, model: devices.model }).from(devices).where(inArray(devices.id, ids))
    : [];
  const byId = new Map<string, InvitedDevice>(known.map((d) => [d.id, d]));
  const now = Date.now();
  return rows.map(({ i, customerName, customerEmail }) => ({
    id: i.id,
    customerAccountId: i.customerAccountId,
    customerName,
    customerEmail,
    inviteeEmail: i.inviteeEmail,
    // A device deleted since is left out: there is nothing left to manage.
    devices: i.deviceIds.flatMap((id) => byId.get(id) ?? []),
    siteName: i.siteName,
    permissions: i.permissions as DeviceUse[],
    status: invitationStatus(i, now),
    targetSiteId: i.targetSiteId,
    createdAt: i.createdAt.toISOString(),
    expiresAt: i.expiresAt.toISOString(),
    decidedAt: i.decidedAt?.toISOString() ?? null,
  }));
}

export async function invitationById(db: Db | Tx, id: string): Promise<DeviceInvitation> {
  const [one] = await listInvitations(db, eq(deviceInvitations.id, id));
  return one!;
}
