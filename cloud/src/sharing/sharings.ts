import { and, asc, eq, inArray, isNull, notInArray, or, sql, type SQL } from 'drizzle-orm';
import {
  DeviceAccessMode,
  ErrorCode,
  MAX_CUSTOMERS_PER_DEVICE,
  normalizeContact,
  SharingErrorCode,
  SharingMode,
  SharingRecipientStatus,
  SHARING_VALID_DAYS,
  WAITING_SHARING_STATUSES,
  type SharedDevice,
  type SharedDeviceBody,
  type SharingOffer,
  type SharingRecipient,
  type SiteSharing,
  type Validity,
} from '@vigil/protocol/api';
import type { Db, Tx } from '../db/client.js';
import { accounts, companies, devices, sharedDevices, sharingRecipients, sharings, sites } from '../db/schema.js';
import { accountByContact } from '../handover/handovers.js';
import { AppError } from '../http/errors.js';

type Reader = Db | Tx;
type RecipientRow = typeof sharingRecipients.$inferSelect;

const S = SharingRecipientStatus;
const WAITING: string[] = [...WAITING_SHARING_STATUSES];

/** A waiting recipient past its expiry reads as Expired; no job needs to have run. */
export function effectiveStatus(r: Pick<RecipientRow, 'status' | 'expiresAt'>, now = Date.now()): SharingRecipientStatus {
  const status = r.status as SharingRecipientStatus;
  return WAITING.includes(status) && r.expiresAt.getTime() <= now ? S.expired : status;
}

/** The recipient holds a place on its devices: accepted, or waiting and not expired (the 10-customer count, §3.3.2). */
const holdsPlace: SQL = sql`(${sharingRecipients.status} = ${S.accepted} OR (${inArray(sharingRecipients.status, WAITING)} AND ${sharingRecipients.expiresAt} > now()))`;

export const sharingExpiry = (): Date => new Date(Date.now() + SHARING_VALID_DAYS * 24 * 3_600_000);

/** An address as it is stored and compared: email in lower case, phone in E.164 (400 INVALID_RECIPIENT otherwise). */
export function normalizeRecipient(channel: 'email' | 'phone', raw: string): string {
  const value = normalizeContact(channel, raw);
  if (value === undefined) {
    throw new AppError(
      400,
      SharingErrorCode.invalidRecipient,
      channel === 'email' ? `"${raw}" is not an email address.` : `"${raw}" is not a mobile number in E.164 form, like +447700900123.`,
    );
  }
  return value;
}

/** The customer account an address names, if any; an installer's or the platform's account is refused (422). */
export async function customerAt(db: Reader, channel: 'email' | 'phone', recipient: string) {
  const account = await accountByContact(db, channel, recipient);
  if (account && account.role !== 'customer') {
    throw new AppError(422, SharingErrorCode.recipientNotCustomer, `${recipient} belongs to an installer's account: share the site with your customer's own email or phone number.`);
  }
  return account ?? null;
}

/**
 * The site's devices named in a list, checked: all of this site, none added by IP/domain, none twice. Returns their
 * names by id (for the share limit's refusal).
 */
export async function checkDevices(db: Reader, siteId: string, list: readonly SharedDeviceBody[]): Promise<Map<string, string>> {
  const ids = list.map((d) => d.deviceId);
  if (new Set(ids).size !== ids.length) throw new AppError(400, ErrorCode.validationFailed, 'A device is listed twice.');
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: devices.id, name: devices.name, accessMode: devices.accessMode })
    .from(devices)
    .where(and(eq(devices.siteId, siteId), inArray(devices.id, ids)));
  const byId = new Map(rows.map((d) => [d.id, d]));
  for (const id of ids) {
    const device = byId.get(id);
    if (!device) throw new AppError(422, SharingErrorCode.deviceNotOnSite, `Device ${id} is not a device of this site.`);
    if (device.accessMode === DeviceAccessMode.ipDomain) {
      throw new AppError(422, SharingErrorCode.deviceNotHandoverCapable, `${device.name} was added by IP/domain: such devices cannot be handed over.`);
    }
  }
  return new Map(rows.map((d) => [d.id, d.name]));
}

/**
 * Refuses (422 DEVICE_SHARE_LIMIT) when a device would be shared with more than 10 customers: those holding a place
 * now, but the recipients being replaced, plus `adding` new holders per device.
 */
export async function checkShareLimit(tx: Tx, adding: ReadonlyMap<string, number>, names: ReadonlyMap<string, string>, except: readonly string[] = []): Promise<void> {
  const deviceIds = [...adding.keys()].filter((id) => (adding.get(id) ?? 0) > 0);
  if (deviceIds.length === 0) return;
  const counts = await tx
    .select({ deviceId: sharedDevices.deviceId, holders: sql<number>`count(*)::int` })
    .from(sharedDevices)
    .innerJoin(sharingRecipients, eq(sharingRecipients.id, sharedDevices.recipientId))
    .where(and(inArray(sharedDevices.deviceId, deviceIds), holdsPlace, except.length > 0 ? notInArray(sharingRecipients.id, [...except]) : undefined))
    .groupBy(sharedDevices.deviceId);
  const held = new Map(counts.map((c) => [c.deviceId, c.holders]));
  for (const id of deviceIds) {
    const total = (held.get(id) ?? 0) + (adding.get(id) ?? 0);
    if (total > MAX_CUSTOMERS_PER_DEVICE) {
      throw new AppError(
        422,
        SharingErrorCode.deviceShareLimit,
        `${names.get(id) ?? id} would be shared with ${total} customers: a device may be shared with at most ${MAX_CUSTOMERS_PER_DEVICE}.`,
      );
    }
  }
}

/**
 * Sets who administers the new customers of a sharing: in Mode A the only customer is the Customer Administrator, and
 * there must be exactly one among those holding the sharing (`live`) and the new ones; Mode B has none.
 */
export function assignAdministrators(mode: SharingMode, live: readonly { isAdmin: boolean }[], fresh: readonly { isAdmin: boolean }[]): void {
  if (mode !== SharingMode.applyToCustomer) {
    for (const f of fresh) f.isAdmin = false;
    return;
  }
  if (live.length === 0 && fresh.length === 1) fresh[0]!.isAdmin = true;
  checkAdministrators([...live, ...fresh]);
}

/** Mode A needs exactly one Customer Administrator among the customers holding the sharing (§3.3.2). */
export function checkAdministrators(live: readonly { isAdmin: boolean }[]): void {
  if (live.length <= 1) return;
  const admins = live.filter((r) => r.isAdmin).length;
  if (admins === 0) throw new AppError(422, SharingErrorCode.customerAdminRequired, 'Mode A: choose one customer as the Customer Administrator, who reviews your permission applications.');
  if (admins > 1) throw new AppError(422, SharingErrorCode.customerAdminNotUnique, 'Mode A: only one customer can be the Customer Administrator.');
}

/** Writes what a recipient is shared from now on (replacing what it had). */
export async function setSharedDevices(tx: Tx, recipientId: string, list: readonly SharedDeviceBody[]): Promise<void> {
  await tx.delete(sharedDevices).where(eq(sharedDevices.recipientId, recipientId));
  if (list.length === 0) return;
  await tx.insert(sharedDevices).values(list.map((d) => ({ recipientId, deviceId: d.deviceId, permissions: [...d.permissions], validity: d.validity })));
}

async function devicesOf(db: Reader, recipientIds: readonly string[]): Promise<Map<string, SharedDevice[]>> {
  const out = new Map<string, SharedDevice[]>();
  if (recipientIds.length === 0) return out;
  const rows = await db
    .select({ recipientId: sharedDevices.recipientId, deviceId: devices.id, deviceName: devices.name, kind: devices.kind, permissions: sharedDevices.permissions, validity: sharedDevices.validity })
    .from(sharedDevices)
    .innerJoin(devices, eq(devices.id, sharedDevices.deviceId))
    .where(inArray(sharedDevices.recipientId, [...recipientIds]))
    .orderBy(asc(devices.name), asc(devices.id));
  for (const { recipientId, ...d } of rows) {
    const list = out.get(recipientId) ?? [];
    list.push({ ...d, validity: d.validity as Validity });
    out.set(recipientId, list);
  }
  return out;
}

/** The installer's view of the site's sharing, or null when the site was never shared. */
export async function siteSharingView(db: Reader, siteId: string): Promise<SiteSharing | null> {
  const [row] = await db.select({ sharing: sharings, siteStatus: sites.status }).from(sharings).innerJoin(sites, eq(sites.id, sharings.siteId)).where(eq(sharings.siteId, siteId));
  if (!row) return null;
  const recipients = await db
    .select({ r: sharingRecipients, customerName: accounts.name })
    .from(sharingRecipients)
    .leftJoin(accounts, eq(accounts.id, sharingRecipients.recipientAccountId))
    .where(eq(sharingRecipients.sharingId, row.sharing.id))
    .orderBy(asc(sharingRecipients.createdAt), asc(sharingRecipients.id));
  const shared = await devicesOf(db, recipients.map((r) => r.r.id));
  const now = Date.now();
  return {
    id: row.sharing.id,
    siteId,
    siteStatus: row.siteStatus,
    mode: row.sharing.mode as SharingMode,
    arcPermissions: row.sharing.arcPermissions,
    remarks: row.sharing.remarks,
    createdAt: row.sharing.createdAt.toISOString(),
    recipients: recipients.map(
      ({ r, customerName }): SharingRecipient => ({
        id: r.id,
        channel: r.channel as 'email' | 'phone',
        recipient: r.recipient,
        customerName,
        remarks: r.remarks,
        isAdmin: r.isAdmin,
        status: effectiveStatus(r, now),
        devices: shared.get(r.id) ?? [],
        createdAt: r.createdAt.toISOString(),
        expiresAt: r.expiresAt.toISOString(),
        decidedAt: r.decidedAt?.toISOString() ?? null,
      }),
    ),
  };
}

/** Sent to this customer: bound to its account, or (not yet bound) to its email or phone. */
export function sentTo(account: { id: string; email: string; phone: string | null }): SQL {
  const byAddress = or(
    and(eq(sharingRecipients.channel, 'email'), eq(sharingRecipients.recipient, account.email.toLowerCase())),
    account.phone ? and(eq(sharingRecipients.channel, 'phone'), eq(sharingRecipients.recipient, account.phone)) : undefined,
  );
  return or(eq(sharingRecipients.recipientAccountId, account.id), and(isNull(sharingRecipients.recipientAccountId), byAddress))!;
}

/** What the customer reads of its sharings; `forAccount` marks those sent to the signed-in account. */
export async function offers(db: Reader, where: SQL, forAccount: { id: string; email: string; phone: string | null } | null): Promise<SharingOffer[]> {
  const rows = await db
    .select({ r: sharingRecipients, sharing: sharings, siteName: sites.name, companyName: companies.name })
    .from(sharingRecipients)
    .innerJoin(sharings, eq(sharings.id, sharingRecipients.sharingId))
    .innerJoin(sites, eq(sites.id, sharingRecipients.siteId))
    .innerJoin(companies, eq(companies.id, sharings.companyId))
    .where(where)
    .orderBy(asc(sharingRecipients.createdAt), asc(sharingRecipients.id));
  const shared = await devicesOf(db, rows.map((x) => x.r.id));
  const now = Date.now();
  return rows.map(({ r, sharing, siteName, companyName }) => ({
    id: r.id,
    siteId: r.siteId,
    siteName,
    companyName,
    mode: sharing.mode as SharingMode,
    isAdmin: r.isAdmin,
    remarks: r.remarks,
    devices: shared.get(r.id) ?? [],
    status: effectiveStatus(r, now),
    createdAt: r.createdAt.toISOString(),
    expiresAt: r.expiresAt.toISOString(),
    forMe: forAccount !== null && isFor(r, forAccount),
  }));
}

/** The recipient is the account: bound to it, or still unbound and sent to its email or phone. */
export function isFor(r: Pick<RecipientRow, 'recipientAccountId' | 'channel' | 'recipient'>, account: { id: string; email: string; phone: string | null }): boolean {
  if (r.recipientAccountId) return r.recipientAccountId === account.id;
  return r.channel === 'email' ? r.recipient === account.email.toLowerCase() : r.recipient === account.phone;
}
