import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, desc, eq, inArray, or, sql } from 'drizzle-orm';
import {
  CustomerHandoversReplySchema,
  DEVICE_USES,
  DevicePermissionName,
  ErrorCode,
  HANDOVER_VALID_DAYS,
  HandoverAnswerQuerySchema,
  HandoverBodySchema,
  HandoverErrorCode,
  HandoverOfferSchema,
  HandoverStatus,
  HandoverTokenParamsSchema,
  PENDING_HANDOVER_STATUSES,
  Permission,
  ResendHandoverBodySchema,
  SiteHandoverSchema,
  SiteOperation,
  SiteStatus,
  type HandoverAnswerQuery,
  type HandoverBody,
  type HandoverChannel,
  type Validity,
  type HandoverOffer,
  type HandoverPermission,
  type ResendHandoverBody,
  type SiteHandover,
} from '@vigil/protocol/api';
import { manageSites, requireAuth, requireCustomer } from '../auth/plugin.js';
import { endCollaborationsAtHandover } from '../collaboration/collaborations.js';
import type { Tx } from '../db/client.js';
import { accounts, companies, devicePermissions, devices, handovers, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { IdParams, SiteParams } from '../http/params.js';
import { notifyAccounts, tellAccounts } from '../notifications/notify.js';
import { randomToken, sha256 } from '../security/secrets.js';
import { isFor, normalizeRecipient } from '../sharing/sharings.js';
import { siteScope } from '../sites/access.js';
import { lockSite, requireSiteOperation } from '../sites/gate.js';
import type { Auth } from '../types.js';
import {
  accountByContact,
  describePermissions,
  expireHandovers,
  HANDOVER_EXPIRY_JOB,
  handoverView,
  installersOfSite,
  latestHandover,
  offerView,
  permissionViews,
  resendsLeft,
  scheduleHandoverExpiry,
  waitingFor,
  type HandoverRow,
} from './handovers.js';
import { grantExpiresAt } from '../grants/grants.js';

const DEVICE_PERMISSIONS: readonly string[] = DEVICE_USES;
const DAY_MS = 24 * 60 * 60 * 1000;

type SiteRow = typeof sites.$inferSelect;
/** Where a handover is sent: a QR code has no recipient until a customer answers it. */
type Address = { channel: HandoverChannel; recipient: string };

const notFound = () => new AppError(404, HandoverErrorCode.notFound, 'Handover not found.');
const unprocessable = (code: string, message: string) => new AppError(422, code, message);

/** The address as sharing keeps it too (email in lower case, phone in E.164); anything else 400 INVALID_RECIPIENT. */
function addressOf(channel: HandoverChannel, raw: string | undefined): Address {
  if (channel === 'qrcode') {
    if (raw?.trim()) throw new AppError(400, HandoverErrorCode.invalidRecipient, 'A QR-code handover has no recipient: the customer who scans it answers it.');
    return { channel, recipient: '' };
  }
  if (!raw?.trim()) throw new AppError(400, HandoverErrorCode.invalidRecipient, channel === 'email' ? "Enter the customer's email address." : "Enter the customer's mobile number.");
  return { channel, recipient: normalizeRecipient(channel, raw) };
}

/** Who may answer a handover: its recipient, or for a QR code whoever holds its link (and afterwards only them). */
function answerableBy(row: HandoverRow, account: { id: string; email: string; phone: string | null }, token: string | undefined): boolean {
  if (row.channel !== 'qrcode') return isFor(row, account);
  return row.recipientAccountId === account.id || (row.recipientAccountId === null && token !== undefined && sha256(token) === row.tokenHash);
}

/** The permissions fit their kinds: devices for device permissions only, each permission once. Returns them de-duplicated. */
function checkPermissionShape(asked: readonly HandoverPermission[]): HandoverPermission[] {
  const seen = new Set<string>();
  return asked.map((p) => {
    if (seen.has(p.permission)) throw unprocessable(HandoverErrorCode.permissionsInvalid, `${p.permission} is asked for twice.`);
    seen.add(p.permission);
    const forDevices = DEVICE_PERMISSIONS.includes(p.permission);
    if (forDevices && p.deviceIds.length === 0) throw unprocessable(HandoverErrorCode.permissionsInvalid, `Select the devices ${p.permission} is asked for.`);
    if (!forDevices && p.deviceIds.length > 0) throw unprocessable(HandoverErrorCode.permissionsInvalid, `${p.permission} is for the whole site: it takes no devices.`);
    return { ...p, deviceIds: [...new Set(p.deviceIds)] };
  });
}

/**
 * Handover by transfer (manual §3.3.2): the installer offers the site to one customer by email or SMS, with the
 * permissions it keeps; the customer accepts (becoming the Site Owner) or rejects. See protocol/src/api/handover.ts.
 */
export async function handoverRoutes(app: FastifyInstance) {
  const { ctx } = app;
  ctx.jobs.handle(HANDOVER_EXPIRY_JOB, async (payload) => {
    await expireHandovers(ctx.db, eq(handovers.id, String(payload.id)));
  });

  /**
   * The route's site for a handover: 404 unless the caller's company's or a site it works on as a partner; 403
   * when it may not manage this site (Manage Assigned Sites without the site assigned). Expired handovers settle first.
   */
  async function handoverSite(request: FastifyRequest) {
    const auth = requireAuth(request);
    const { siteId } = request.params as { siteId: string };
    await expireHandovers(ctx.db, eq(handovers.siteId, siteId));
    const scope = siteScope(auth);
    const [row] = await ctx.db
      .select({ site: sites, managed: sql<boolean>`(${scope})` })
      .from(sites)
      .where(and(eq(sites.id, siteId), or(eq(sites.companyId, auth.companyId), scope)));
    if (!row) throw new AppError(404, ErrorCode.siteNotFound, 'Site not found.');
    request.oplog.siteId = row.site.id;
    request.oplog.siteName = row.site.name;
    if (!row.managed) throw new AppError(403, ErrorCode.permissionDenied, `You do not manage the site ${row.site.name}: it is not assigned to you.`);
    return { auth, site: row.site };
  }

  async function siteHandover(site: SiteRow): Promise<SiteHandover> {
    const [fresh] = await ctx.db.select({ status: sites.status }).from(sites).where(eq(sites.id, site.id));
    const last = await latestHandover(ctx.db, site.id);
    return {
      siteId: site.id,
      siteStatus: fresh!.status,
      handover: last ? await handoverView(ctx.db, last) : null,
      resendsLeft: await resendsLeft(ctx.db, site),
    };
  }

  /** The recipient's account, if it has one; an installer's or the platform's account cannot take a site. */
  async function customerFor(tx: Tx, to: Address) {
    if (to.channel === 'qrcode') return null;
    const account = await accountByContact(tx, to.channel, to.recipient);
    if (account && account.role !== 'customer') {
      throw unprocessable(HandoverErrorCode.recipientNotCustomer, `${to.recipient} belongs to an installer's account: hand the site over to a customer.`);
    }
    return account ?? null;
  }

  /**
   * Writes a handover to one recipient, takes the site to its status, and sends the offer (mail or SMS, and the
   * Notification Center of an existing customer), all in the caller's transaction. Returns the offer's link.
   */
  async function offer(
    tx: Tx,
    auth: Auth,
    site: SiteRow,
    to: Address,
    fields: { customerName: string; remarks: string; permissions: HandoverRow['permissions'] },
  ): Promise<string> {
    const customer = await customerFor(tx, to);
    // A QR code is shown face to face: it waits for an answer at once, from whoever scans it.
    const status = customer || to.channel === 'qrcode' ? HandoverStatus.toBeAccepted : HandoverStatus.notRegistered;
    const token = randomToken();
    const expiresAt = new Date(Date.now() + HANDOVER_VALID_DAYS * DAY_MS);
    const [row] = await tx
      .insert(handovers)
      .values({
        siteId: site.id,
        companyId: site.companyId,
        createdBy: auth.accountId,
        channel: to.channel,
        recipient: to.recipient,
        recipientAccountId: customer?.id ?? null,
        customerName: fields.customerName,
        remarks: fields.remarks,
        permissions: fields.permissions,
        status,
        tokenHash: sha256(token),
        expiresAt,
      })
      .returning();
    await tx.update(sites).set({ status, updatedAt: new Date() }).where(eq(sites.id, site.id));
    await scheduleHandoverExpiry(ctx.jobs, row!, tx);

    // The site's own company speaks, even when an ISP partner sends it (§3.4.5).
    const [company] = await tx.select({ name: companies.name }).from(companies).where(eq(companies.id, site.companyId));
    const link = `${ctx.publicUrl}/handover/${token}`;
    const asked = describePermissions(await permissionViews(tx, fields.permissions));
    const intro = `${company!.name} hands the site "${site.name}" over to you.`;
    const remarks = fields.remarks ? `\nRemarks: ${fields.remarks}\n` : '';
    const body = `${intro}\n${remarks}\nOnce you accept, ${company!.name} keeps these permissions:\n${asked}\n`;
    if (to.channel === 'email') {
      await ctx.mail.send(
        {
          to: to.recipient,
          kind: 'handover.offer',
          subject: `${company!.name} hands over the site "${site.name}" to you`,
          text: `${fields.customerName ? `Hello ${fields.customerName},\n\n` : ''}${body}\nRegister or log in, then accept or reject the handover (valid for ${HANDOVER_VALID_DAYS} days): ${link}\n`,
        },
        tx,
      );
    } else if (to.channel === 'phone') {
      await ctx.sms.send({ to: to.recipient, kind: 'handover.offer', text: `${body}\nAccept or reject: ${link}` }, tx);
    }
    if (customer) {
      await notifyAccounts(tx, [customer.id], { kind: 'handover.offer', title: 'Site handover', body: intro, data: { handoverId: row!.id, siteId: site.id } });
    }
    return link;
  }

  /** The reply to a new or resent handover: a QR code's link is given this once. */
  async function sentHandover(site: SiteRow, to: Address, link: string): Promise<SiteHandover> {
    return { ...(await siteHandover(site)), ...(to.channel === 'qrcode' ? { link } : {}) };
  }

  app.post(
    '/sites/:siteId/handover',
    {
      schema: { params: SiteParams, body: HandoverBodySchema, response: { 201: SiteHandoverSchema } },
      preHandler: manageSites,
      config: { oplog: 'Hand Over Site' },
    },
    async (request, reply) => {
      const { auth, site } = await handoverSite(request);
      const body = request.body as HandoverBody;
      request.oplog.target = body.recipient ?? 'QR code';
      requireSiteOperation(site, SiteOperation.transfer);
      const to = addressOf(body.channel, body.recipient);
      const asked = checkPermissionShape(body.permissions);

      const siteDevices = await ctx.db.select({ id: devices.id, name: devices.name, accessMode: devices.accessMode }).from(devices).where(eq(devices.siteId, site.id));
      if (!siteDevices.some((d) => d.accessMode !== 'ip_domain')) {
        throw unprocessable(HandoverErrorCode.siteHasNoDevices, `${site.name} has no device that can be handed over: add its devices first.`);
      }
      const forDevices = asked.filter((p) => DEVICE_PERMISSIONS.includes(p.permission));
      if (forDevices.length > 0 && !auth.permissions.has(Permission.deviceManage)) {
        throw new AppError(403, HandoverErrorCode.deviceManagementRequired, 'Asking for Configuration, Live view or Playback needs the device management permission.');
      }
      const byId = new Map(siteDevices.map((d) => [d.id, d]));
      for (const id of forDevices.flatMap((p) => p.deviceIds)) {
        const device = byId.get(id);
        if (!device) throw unprocessable(HandoverErrorCode.deviceNotOnSite, `The device ${id} is not a device of ${site.name}.`);
        if (device.accessMode === 'ip_domain') throw unprocessable(HandoverErrorCode.deviceNotHandoverCapable, `${device.name} is added by IP/domain: it cannot be handed over.`);
      }

      const link = await ctx.db.transaction(async (tx) => {
        const locked = await lockSite(tx, site.id, SiteOperation.transfer);
        return offer(tx, auth, locked, to, { customerName: body.customerName?.trim() ?? '', remarks: body.remarks?.trim() ?? '', permissions: asked });
      });
      ctx.hub.publish(site.companyId, { type: 'site.changed', siteId: site.id });
      return reply.status(201).send(await sentHandover(site, to, link));
    },
  );

  app.get('/sites/:siteId/handover', { schema: { params: SiteParams, response: { 200: SiteHandoverSchema } }, preHandler: manageSites }, async (request) => {
    const { site } = await handoverSite(request);
    return siteHandover(site);
  });

  app.post(
    '/sites/:siteId/handover/resend',
    {
      schema: { params: SiteParams, body: ResendHandoverBodySchema, response: { 201: SiteHandoverSchema } },
      preHandler: manageSites,
      config: { oplog: 'Resend Handover' },
    },
    async (request, reply) => {
      const { auth, site } = await handoverSite(request);
      const body = request.body as ResendHandoverBody;
      requireSiteOperation(site, SiteOperation.resendHandover);
      const sent = await ctx.db.transaction(async (tx) => {
        const locked = await lockSite(tx, site.id, SiteOperation.resendHandover);
        const [previous] = await tx
          .select()
          .from(handovers)
          .where(and(eq(handovers.siteId, site.id), inArray(handovers.status, [...PENDING_HANDOVER_STATUSES])))
          .orderBy(desc(handovers.createdAt))
          .limit(1);
        if (!previous) throw new AppError(409, HandoverErrorCode.notPending, `${site.name} has no handover waiting to be sent again.`);
        if ((await resendsLeft(tx, locked)) === 0) {
          throw new AppError(429, HandoverErrorCode.resendLimit, `The handover of ${site.name} has been sent again 5 times today: try again tomorrow.`);
        }
        const channel = body.channel ?? (previous.channel as HandoverChannel);
        // A QR code keeps no recipient; switching to one drops the previous recipient.
        const to =
          body.recipient !== undefined || body.channel !== undefined
            ? addressOf(channel, body.recipient ?? (channel === 'qrcode' ? undefined : previous.recipient || undefined))
            : { channel, recipient: previous.recipient };
        request.oplog.target = to.recipient || 'QR code';
        await tx.update(handovers).set({ status: HandoverStatus.invalidated, decidedAt: sql`now()` }).where(eq(handovers.id, previous.id));
        const link = await offer(tx, auth, locked, to, {
          customerName: body.customerName?.trim() ?? previous.customerName,
          remarks: body.remarks?.trim() ?? previous.remarks,
          permissions: previous.permissions,
        });
        return { to, link };
      });
      ctx.hub.publish(site.companyId, { type: 'site.changed', siteId: site.id });
      return reply.status(201).send(await sentHandover(site, sent.to, sent.link));
    },
  );

  app.delete(
    '/sites/:siteId/handover',
    { schema: { params: SiteParams, response: { 200: SiteHandoverSchema } }, preHandler: manageSites, config: { oplog: 'Cancel Handover' } },
    async (request) => {
      const { site } = await handoverSite(request);
      await ctx.db.transaction(async (tx) => {
        await lockSite(tx, site.id);
        const cancelled = await tx
          .update(handovers)
          .set({ status: HandoverStatus.cancelled, decidedAt: sql`now()` })
          .where(and(eq(handovers.siteId, site.id), inArray(handovers.status, [...PENDING_HANDOVER_STATUSES])))
          .returning({ recipient: handovers.recipient, recipientAccountId: handovers.recipientAccountId });
        if (cancelled.length === 0) throw new AppError(409, HandoverErrorCode.notPending, `${site.name} has no handover waiting to be cancelled.`);
        request.oplog.target = cancelled[0]!.recipient || 'QR code';
        await tx.update(sites).set({ status: SiteStatus.notHandedOver, updatedAt: new Date() }).where(eq(sites.id, site.id));
        const customers = cancelled.flatMap((c) => (c.recipientAccountId ? [c.recipientAccountId] : []));
        await notifyAccounts(tx, customers, {
          kind: 'handover.cancelled',
          title: 'Site handover cancelled',
          body: `The handover of the site "${site.name}" has been cancelled by its installer.`,
          data: { siteId: site.id },
        });
      });
      ctx.hub.publish(site.companyId, { type: 'site.changed', siteId: site.id });
      return siteHandover(site);
    },
  );

  // ---- the customer's side ----------------------------------------------------------------------------

  /** The signed-in account with its contact details (for matching a handover sent before it registered). */
  async function accountOf(auth: Auth | null) {
    if (!auth) return null;
    const [account] = await ctx.db.select({ id: accounts.id, email: accounts.email, phone: accounts.phone }).from(accounts).where(eq(accounts.id, auth.accountId));
    return account ?? null;
  }

  /** Superseded and expired handovers are gone for the customer: 410 with what happened. */
  function requireLive(row: HandoverRow): void {
    if (row.status === HandoverStatus.invalidated) throw new AppError(410, HandoverErrorCode.invalidated, 'This handover has been replaced by a newer one: use the link of the latest message.');
    if (row.status === HandoverStatus.expired) throw new AppError(410, HandoverErrorCode.expired, 'This handover has expired: ask your installer to send it again.');
  }

  app.get(
    '/handovers/:token',
    { schema: { params: HandoverTokenParamsSchema, response: { 200: HandoverOfferSchema } }, config: { public: true } },
    async (request): Promise<HandoverOffer> => {
      const tokenHash = sha256((request.params as { token: string }).token);
      await expireHandovers(ctx.db, eq(handovers.tokenHash, tokenHash));
      const [row] = await ctx.db.select().from(handovers).where(eq(handovers.tokenHash, tokenHash));
      if (!row) throw notFound();
      requireLive(row);
      const account = await accountOf(request.auth);
      return offerView(ctx.db, row, account !== null && answerableBy(row, account, (request.params as { token: string }).token));
    },
  );

  app.get('/customer/handovers', { schema: { response: { 200: CustomerHandoversReplySchema } }, preHandler: requireCustomer }, async (request) => {
    const account = (await accountOf(request.auth))!;
    await expireHandovers(ctx.db, waitingFor(account));
    const rows = await ctx.db.select().from(handovers).where(waitingFor(account)).orderBy(desc(handovers.createdAt));
    return { items: await Promise.all(rows.map((r) => offerView(ctx.db, r, true))) };
  });

  /** The recipient answers a waiting handover, in one transaction with everything the answer changes. */
  async function decide(request: FastifyRequest, accept: boolean): Promise<HandoverOffer> {
    const auth = requireAuth(request);
    const account = (await accountOf(auth))!;
    const { id } = request.params as { id: string };
    await expireHandovers(ctx.db, eq(handovers.id, id));
    const decided = await ctx.db.transaction(async (tx) => {
      const [row] = await tx.select().from(handovers).where(eq(handovers.id, id)).for('update');
      if (!row) throw notFound();
      if (!answerableBy(row, account, (request.query as HandoverAnswerQuery).token)) throw new AppError(403, HandoverErrorCode.notRecipient, 'This handover was sent to someone else.');
      requireLive(row);
      if (!PENDING_HANDOVER_STATUSES.includes(row.status as HandoverStatus)) {
        throw new AppError(409, HandoverErrorCode.notPending, `This handover is ${row.status}: there is nothing to answer.`);
      }
      const site = await lockSite(tx, row.siteId);
      request.oplog.siteId = site.id;
      request.oplog.siteName = site.name;
      request.oplog.target = site.name;
      const now = new Date();
      const [answered] = await tx
        .update(handovers)
        .set({ status: accept ? HandoverStatus.accepted : HandoverStatus.rejected, decidedAt: now, recipientAccountId: account.id })
        .where(eq(handovers.id, row.id))
        .returning();
      if (accept) await transfer(tx, row, site, account.id, now);
      else await tx.update(sites).set({ status: SiteStatus.notHandedOver, updatedAt: now }).where(eq(sites.id, site.id));

      const verb = accept ? 'accepted' : 'rejected';
      const text = `${auth.name} (${auth.email}) has ${verb} the handover of the site "${site.name}".`;
      await tellAccounts(
        tx,
        ctx.mail,
        await installersOfSite(tx, site, row.createdBy),
        { kind: `handover.${verb}`, title: `Site handover ${verb}`, body: text, data: { handoverId: row.id, siteId: site.id } },
        () => ({ subject: `Handover of "${site.name}" ${verb}`, text: `${text}\n` }),
      );
      return { site: site, answered: answered! };
    });
    ctx.hub.publish(decided.site.companyId, { type: 'site.changed', siteId: decided.site.id });
    return offerView(ctx.db, decided.answered, true);
  }

  /**
   * The customer owns the site: the asked permissions become the company's grants at once (no separate approval,
   * §3.3.2), ManageSiteInformation makes it AuthorizedAndMonitoring, and ISP partners lose the site (§3.4.5).
   */
  async function transfer(tx: Tx, row: HandoverRow, site: SiteRow, customerId: string, now: Date): Promise<void> {
    const siteInfo = row.permissions.some((p) => p.permission === DevicePermissionName.manageSiteInformation);
    await tx
      .update(sites)
      .set({ ownerAccountId: customerId, status: siteInfo ? SiteStatus.authorizedAndMonitoring : SiteStatus.handedOverNotAuthorized, updatedAt: now })
      .where(eq(sites.id, site.id));
    const onSite = new Set((await tx.select({ id: devices.id }).from(devices).where(eq(devices.siteId, site.id))).map((d) => d.id));
    const grants = row.permissions.flatMap((p) => {
      const expiresAt = grantExpiresAt(p.validity as Validity, ctx.config.permissionHourMs, now);
      // A device moved off the site since the offer is not the customer's to grant.
      const targets: (string | null)[] = p.deviceIds.length === 0 ? [null] : p.deviceIds.filter((d) => onSite.has(d));
      return targets.map((deviceId) => ({
        siteId: site.id,
        deviceId,
        companyId: site.companyId,
        permission: p.permission,
        validity: p.validity,
        status: 'approved',
        source: 'handover',
        applicantAccountId: row.createdBy,
        reviewerAccountId: customerId,
        decidedAt: now,
        expiresAt,
      }));
    });
    if (grants.length > 0) await tx.insert(devicePermissions).values(grants);
    await endCollaborationsAtHandover(tx, site.id);
  }

  app.post(
    '/customer/handovers/:id/accept',
    { schema: { params: IdParams, querystring: HandoverAnswerQuerySchema, response: { 200: HandoverOfferSchema } }, preHandler: requireCustomer, config: { oplog: 'Accept Handover' } },
    async (request) => decide(request, true),
  );
  app.post(
    '/customer/handovers/:id/reject',
    { schema: { params: IdParams, querystring: HandoverAnswerQuerySchema, response: { 200: HandoverOfferSchema } }, preHandler: requireCustomer, config: { oplog: 'Reject Handover' } },
    async (request) => decide(request, false),
  );
}

