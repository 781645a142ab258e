import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import {
  AccountRole,
  DEVICE_INVITATION_HOURS,
  DEVICE_PERMISSION_LABELS,
  DeviceAccessMode,
  DeviceInvitationBodySchema,
  DeviceInvitationSchema,
  DeviceInvitationsReplySchema,
  DeviceInvitationStatus,
  DevicePermissionName,
  ErrorCode,
  GrantErrorCode,
  InvitableDevicesReplySchema,
  SiteStatus,
  type DeviceInvitationBody,
  type DeviceUse,
} from '@vigil/protocol/api';
import { manageSites, requireAuth, requireCustomer } from '../auth/plugin.js';
import type { Tx } from '../db/client.js';
import { accounts, companies, deviceInvitations, devicePermissions, devices, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { IdParams } from '../http/params.js';
import { notifyAccounts, tellAccounts } from '../notifications/notify.js';
import { insertSite, rethrowSiteError, siteNameTaken } from '../sites/create.js';
import { announceDetached, detachDevices, type Detached } from '../device-moves/detach.js';
import { invitationById, invitationStatus, listInvitations } from './invitations.js';

const HOUR_MS = 3_600_000;
const notFound = () => new AppError(404, GrantErrorCode.invitationNotFound, 'Invitation not found.');
const permissionList = (ps: readonly string[]) => ps.map((p) => DEVICE_PERMISSION_LABELS[p as DeviceUse] ?? p).join(', ');

/** The devices of sites the customer owns that an installer can take over: P2P devices that reach the cloud by themselves. */
const invitableWhere = (customerId: string) =>
  and(eq(sites.ownerAccountId, customerId), sql`${devices.edgeSerial} IS NULL`, eq(devices.accessMode, DeviceAccessMode.p2p));

/**
 * Device management invitations (manual §3.3.6): a customer invites an installer account, by its email, to manage
 * devices of its sites; the invitee accepts within 3 days and the devices go to its company's site of the
 * invitation's name, with the invited permissions granted for good.
 */
export async function deviceInvitationRoutes(app: FastifyInstance) {
  const { ctx } = app;

  // ---- the customer's side --------------------------------------------------------------------------

  app.get('/customer/device-invitations/devices', { schema: { response: { 200: InvitableDevicesReplySchema } }, preHandler: requireCustomer }, async (request) => ({
    items: await ctx.db
      .select({ id: devices.id, name: devices.name, serial: devices.serial, model: devices.model, siteId: sites.id, siteName: sites.name })
      .from(devices)
      .innerJoin(sites, eq(sites.id, devices.siteId))
      .where(invitableWhere(requireAuth(request).accountId))
      .orderBy(asc(sites.name), asc(devices.name)),
  }));

  app.get('/customer/device-invitations', { schema: { response: { 200: DeviceInvitationsReplySchema } }, preHandler: requireCustomer }, async (request) => ({
    items: await listInvitations(ctx.db, eq(deviceInvitations.customerAccountId, requireAuth(request).accountId)),
  }));

  app.post(
    '/customer/device-invitations',
    {
      schema: { body: DeviceInvitationBodySchema, response: { 201: DeviceInvitationSchema } },
      preHandler: requireCustomer,
      config: { oplog: 'Invite Installer to Manage Devices' },
    },
    async (request, reply) => {
      const auth = requireAuth(request);
      const body = request.body as DeviceInvitationBody;
      const email = body.inviteeEmail.trim().toLowerCase();
      request.oplog.target = email;
      const [invitee] = await ctx.db
        .select({ id: accounts.id, email: accounts.email, name: accounts.name, role: accounts.role, companyType: companies.type })
        .from(accounts)
        .innerJoin(companies, eq(companies.id, accounts.companyId))
        .where(sql`lower(${accounts.email}) = ${email}`);
      const installer = invitee && (invitee.role === AccountRole.installerAdmin || invitee.role === AccountRole.installer) && invitee.companyType !== 'vendor';
      if (!installer) throw new AppError(422, GrantErrorCode.notAnInstaller, `No installer account has the email ${body.inviteeEmail}: ask your installer for its account email.`);

      const owned = await ctx.db
        .select({ id: devices.id, name: devices.name, serial: devices.serial, edgeSerial: devices.edgeSerial, accessMode: devices.accessMode })
        .from(devices)
        .innerJoin(sites, eq(sites.id, devices.siteId))
        .where(and(inArray(devices.id, body.deviceIds), eq(sites.ownerAccountId, auth.accountId)));
      if (owned.length !== body.deviceIds.length) throw new AppError(404, ErrorCode.deviceNotFound, 'A device of the invitation is not on a site you own.');
      const fixed = owned.find((d) => d.edgeSerial !== null || d.accessMode !== DeviceAccessMode.p2p);
      if (fixed) {
        throw new AppError(
          422,
          GrantErrorCode.deviceNotInvitable,
          `${fixed.name} is ${fixed.edgeSerial ? "reached through the site's edge box" : 'added by IP address or domain name'}: only devices that connect by themselves can move to an installer.`,
        );
      }
      const ordered = body.deviceIds.map((id) => owned.find((d) => d.id === id)!);
      const siteName = body.siteName.trim();
      const now = new Date();
      const id = await ctx.db.transaction(async (tx) => {
        const [row] = await tx
          .insert(deviceInvitations)
          .values({
            customerAccountId: auth.accountId,
            inviteeEmail: invitee.email,
            inviteeAccountId: invitee.id,
            deviceIds: body.deviceIds,
            siteName,
            permissions: body.permissions,
            // Both from one clock reading: the invitation lasts exactly 3 days from when it was sent.
            createdAt: now,
            expiresAt: new Date(now.getTime() + DEVICE_INVITATION_HOURS * HOUR_MS),
          })
          .returning();
        const details = {
          deviceName: ordered.map((d) => d.name).join(', '),
          deviceSerialNo: ordered.map((d) => d.serial).join(', '),
          siteName,
          customerAccount: auth.email,
          invitedAt: row!.createdAt.toISOString(),
        };
        const what = `${auth.name} (${auth.email}) invites you to manage ${ordered.length === 1 ? 'a device' : `${ordered.length} devices`} on the site "${siteName}".`;
        await tellAccounts(
          tx,
          ctx.mail,
          [invitee],
          { kind: 'device_invitation', title: 'Business Notification: device management invitation', body: what, data: { category: 'business', invitationId: row!.id, ...details } },
          () => ({
            subject: `${auth.name} invites you to manage devices`,
            text:
              `${what}\n\n` +
              `Device name: ${details.deviceName}\nDevice serial No.: ${details.deviceSerialNo}\nSite: ${siteName}\n` +
              `Hik-Connect user account: ${auth.email}\nInvited at: ${details.invitedAt}\nPermissions: ${permissionList(body.permissions)}\n\n` +
              `Accept the invitation within ${DEVICE_INVITATION_HOURS / 24} days, after which it is invalid: ${ctx.publicUrl}/device-invitations\n`,
          }),
        );
        return row!.id;
      });
      return reply.status(201).send(await invitationById(ctx.db, id));
    },
  );

  // ---- the installer's side -------------------------------------------------------------------------

  app.get('/device-invitations', { schema: { response: { 200: DeviceInvitationsReplySchema } }, preHandler: manageSites }, async (request) => ({
    items: await listInvitations(ctx.db, eq(deviceInvitations.inviteeAccountId, requireAuth(request).accountId)),
  }));

  /** The invitation of the route's `:id`, locked, if the caller is its invitee and it can still be answered. */
  async function answerable(tx: Tx, request: FastifyRequest) {
    const auth = requireAuth(request);
    const { id } = request.params as { id: string };
    const [inv] = await tx.select().from(deviceInvitations).where(eq(deviceInvitations.id, id)).for('update');
    if (!inv) throw notFound();
    if (inv.inviteeAccountId !== auth.accountId) throw new AppError(403, GrantErrorCode.notInvitee, `This invitation is addressed to another account; only ${inv.inviteeEmail} may answer it.`);
    request.oplog.target = inv.siteName;
    const status = invitationStatus(inv);
    if (status === DeviceInvitationStatus.expired) throw new AppError(410, GrantErrorCode.invitationExpired, 'This invitation has expired: it had to be accepted within 3 days. Ask the customer to invite you again.');
    if (status !== DeviceInvitationStatus.pending) throw new AppError(409, GrantErrorCode.invitationState, `This invitation is ${status.toLowerCase()} already.`);
    return inv;
  }

  /** The company's site of that name, which must belong to the same customer; or a new one (see accept). */
  async function targetSite(tx: Tx, request: FastifyRequest, inv: typeof deviceInvitations.$inferSelect, timeZone: string) {
    const auth = requireAuth(request);
    const [existing] = await tx
      .select()
      .from(sites)
      .where(and(eq(sites.companyId, auth.companyId), sql`lower(${sites.name}) = lower(${inv.siteName})`))
      .for('update');
    if (existing) {
      if (existing.ownerAccountId !== inv.customerAccountId) throw siteNameTaken(inv.siteName);
      return existing;
    }
    const created = await insertSite(tx, auth, { name: inv.siteName, type: 'personal', timeZone }, ctx.config.minOfflineDelaySec);
    // The customer owns it and has authorized the installer: its grants come with the invitation.
    const [site] = await tx
      .update(sites)
      .set({ ownerAccountId: inv.customerAccountId, status: SiteStatus.authorizedAndMonitoring })
      .where(eq(sites.id, created.id))
      .returning();
    await tx.insert(devicePermissions).values({
      siteId: site!.id,
      companyId: auth.companyId,
      permission: DevicePermissionName.siteAuthorization,
      validity: 'Permanent',
      status: 'approved',
      source: 'handover',
      applicantAccountId: auth.accountId,
      reviewerAccountId: inv.customerAccountId,
      decidedAt: new Date(),
    });
    return site!;
  }

  app.post(
    '/device-invitations/:id/accept',
    { schema: { params: IdParams, response: { 200: DeviceInvitationSchema } }, preHandler: manageSites, config: { oplog: 'Accept Device Management Invitation' } },
    async (request) => {
      const auth = requireAuth(request);
      const { id } = request.params as { id: string };
      let siteName = '';
      let moved: { detached: Detached; site: string; from: string[] };
      try {
        moved = await ctx.db.transaction(async (tx) => {
          const inv = await answerable(tx, request);
          siteName = inv.siteName;
          const moving = await tx
            .select({ id: devices.id, name: devices.name, companyId: devices.companyId, siteTimeZone: sites.timeZone })
            .from(devices)
            .innerJoin(sites, eq(sites.id, devices.siteId))
            .where(and(inArray(devices.id, inv.deviceIds), invitableWhere(inv.customerAccountId)))
            .for('update', { of: devices });
          if (moving.length !== inv.deviceIds.length) {
            throw new AppError(409, GrantErrorCode.invitationStale, "Some of the invitation's devices are no longer on the customer's sites: ask the customer to invite you again.");
          }
          const site = await targetSite(tx, request, inv, moving[0]!.siteTimeZone);
          request.oplog.siteId = site.id;
          request.oplog.siteName = site.name;
          const ids = moving.map((d) => d.id);
          // Rules, bindings and whatever anyone held on the devices where they were end with the move.
          const detached = await detachDevices(tx, ids);
          await tx.update(devices).set({ companyId: auth.companyId, siteId: site.id, updatedAt: sql`now()` }).where(inArray(devices.id, ids));
          const now = new Date();
          await tx.insert(devicePermissions).values(
            ids.flatMap((deviceId) =>
              inv.permissions.map((permission) => ({
                siteId: site.id,
                deviceId,
                companyId: auth.companyId,
                permission,
                validity: 'Permanent',
                status: 'approved',
                source: 'handover',
                applicantAccountId: auth.accountId,
                reviewerAccountId: inv.customerAccountId,
                decidedAt: now,
              })),
            ),
          );
          await tx.update(deviceInvitations).set({ status: DeviceInvitationStatus.accepted, targetSiteId: site.id, decidedAt: now }).where(eq(deviceInvitations.id, id));
          await notifyAccounts(tx, [inv.customerAccountId], {
            kind: 'device_invitation.accepted',
            title: 'Device management invitation accepted',
            body: `${auth.email} has accepted your invitation: ${moving.map((d) => d.name).join(', ')} ${moving.length === 1 ? 'is' : 'are'} now on its site "${site.name}".`,
            data: { invitationId: id, siteId: site.id },
          });
          return { detached, site: site.id, from: [...new Set(moving.map((d) => d.companyId))] };
        });
      } catch (err) {
        rethrowSiteError(err, siteName);
      }
      for (const companyId of moved.from) announceDetached(ctx, companyId, moved.detached);
      ctx.hub.publish(auth.companyId, { type: 'devices.changed', siteId: moved.site });
      return invitationById(ctx.db, id);
    },
  );

  app.post(
    '/device-invitations/:id/decline',
    { schema: { params: IdParams, response: { 200: DeviceInvitationSchema } }, preHandler: manageSites, config: { oplog: 'Decline Device Management Invitation' } },
    async (request) => {
      const auth = requireAuth(request);
      const { id } = request.params as { id: string };
      await ctx.db.transaction(async (tx) => {
        const inv = await answerable(tx, request);
        await tx.update(deviceInvitations).set({ status: DeviceInvitationStatus.declined, decidedAt: sql`now()` }).where(eq(deviceInvitations.id, id));
        await notifyAccounts(tx, [inv.customerAccountId], {
          kind: 'device_invitation.declined',
          title: 'Device management invitation declined',
          body: `${auth.email} has declined your invitation to manage devices on the site "${inv.siteName}".`,
          data: { invitationId: id },
        });
      });
      return invitationById(ctx.db, id);
    },
  );
}
