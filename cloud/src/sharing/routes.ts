import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import Type from 'typebox';
import {
  AccountRole,
  AddRecipientsBodySchema,
  ARC_SUB_PERMISSIONS,
  CANCELLABLE_STATUSES,
  CustomerSharingsReplySchema,
  EditRecipientBodySchema,
  RecipientDevicesBodySchema,
  RESHARABLE_STATUSES,
  SharingBodySchema,
  SharingErrorCode,
  SharingMode,
  SharingOfferSchema,
  SharingRecipientStatus,
  SharingTokenParamsSchema,
  SHARING_VALID_DAYS,
  SiteOperation,
  SiteSharingSchema,
  SiteStatus,
  SiteType,
  WAITING_SHARING_STATUSES,
  type AddRecipientsBody,
  type EditRecipientBody,
  type RecipientDevicesBody,
  type SharedDeviceBody,
  type SharingBody,
  type SharingRecipientBody,
  type SharingRecipientStatus as RecipientStatus,
} from '@vigil/protocol/api';
import { manageSites, requireAuth, requireCustomer } from '../auth/plugin.js';
import { endCollaborationsAtHandover } from '../collaboration/collaborations.js';
import type { Tx } from '../db/client.js';
import { accounts, companies, devices, sharedDevices, sharingRecipients, sharings, siteArcAuthorizations, sites } from '../db/schema.js';
import { IdParams, SiteParams } from '../http/params.js';
import { AppError } from '../http/errors.js';
import { accountsWithRole, notifyAccounts, tellAccounts, type Recipient } from '../notifications/notify.js';
import { randomToken, sha256 } from '../security/secrets.js';
import { requireSiteOperation } from '../sites/gate.js';
import { siteOfRequest } from '../sites/access.js';
import {
  assignAdministrators,
  checkAdministrators,
  checkDevices,
  checkShareLimit,
  customerAt,
  effectiveStatus,
  isFor,
  normalizeRecipient,
  offers,
  sentTo,
  setSharedDevices,
  sharingExpiry,
  siteSharingView,
} from './sharings.js';

const RecipientParams = Type.Object({ siteId: Type.String({ format: 'uuid' }), id: Type.String({ format: 'uuid' }) });

const S = SharingRecipientStatus;
const notFound = () => new AppError(404, SharingErrorCode.notFound, 'Sharing not found.');
const recipientState = (what: string) => new AppError(409, SharingErrorCode.recipientState, what);

type Site = typeof sites.$inferSelect;
type RecipientRow = typeof sharingRecipients.$inferSelect;

/** A customer to share with, checked: its address normalized, and its account if it has one. */
interface NewRecipient {
  channel: 'email' | 'phone';
  recipient: string;
  remarks: string;
  isAdmin: boolean;
  account: { id: string; name: string } | null;
}

/**
 * Hand over by sharing (manual §3.3.2, personal sites): the company keeps the devices and shares chosen devices
 * with chosen permissions with up to many customers, each of whom accepts or rejects its own link.
 */
export async function sharingRoutes(app: FastifyInstance) {
  const { ctx } = app;

  const siteOf = (request: FastifyRequest, op?: SiteOperation) => siteOfRequest(ctx.db, request, op);

  /** Normalizes the addresses and finds their accounts; the same customer twice in one list is refused. */
  async function prepare(list: readonly SharingRecipientBody[]): Promise<NewRecipient[]> {
    const out: NewRecipient[] = [];
    for (const r of list) {
      const recipient = normalizeRecipient(r.channel, r.recipient);
      const account = await customerAt(ctx.db, r.channel, recipient);
      if (out.some((o) => (o.channel === r.channel && o.recipient === recipient) || (account && o.account?.id === account.id))) {
        throw new AppError(422, SharingErrorCode.duplicateRecipient, `${recipient} is listed twice.`);
      }
      out.push({ channel: r.channel, recipient, remarks: r.remarks ?? '', isAdmin: r.isAdmin ?? false, account: account && { id: account.id, name: account.name } });
    }
    return out;
  }

  /** Refuses a customer the sharing already has (but for cancelled ones: "Share again" serves the others). */
  function checkNotShared(existing: readonly RecipientRow[], fresh: readonly NewRecipient[]): void {
    for (const f of fresh) {
      const same = existing.find(
        (e) => e.status !== S.cancelled && ((e.channel === f.channel && e.recipient === f.recipient) || (f.account !== null && e.recipientAccountId === f.account.id)),
      );
      if (same) throw new AppError(422, SharingErrorCode.duplicateRecipient, `The site is shared with ${f.recipient} already.`);
    }
  }

  async function companyName(tx: Tx, companyId: string): Promise<string> {
    const [row] = await tx.select({ name: companies.name }).from(companies).where(eq(companies.id, companyId));
    return row!.name;
  }

  /** The columns of a new link: a fresh token, 7 days to answer, ToBeAccepted once the customer has an account. */
  function freshLink(accountId: string | null) {
    const token = randomToken();
    return { token, columns: { status: accountId ? S.toBeAccepted : S.notRegistered, recipientAccountId: accountId, tokenHash: sha256(token), expiresAt: sharingExpiry() } };
  }

  /** The link goes by mail or SMS; a customer with an account also finds it in its Notification Center. */
  async function sendOffer(tx: Tx, site: Site, company: string, r: RecipientRow, token: string) {
    const link = `${ctx.publicUrl}/share/${token}`;
    const what = `${company} shares the site "${site.name}" with you.`;
    const remarks = r.remarks ? `\n\nRemarks: ${r.remarks}` : '';
    if (r.channel === 'email') {
      await ctx.mail.send(
        { to: r.recipient, kind: 'sharing.offer', subject: `${company} shares a site with you`, text: `${what}${remarks}\n\nSee what is shared and accept or reject it: ${link}\n\nThe link is valid for ${SHARING_VALID_DAYS} days.\n` },
        tx,
      );
    } else {
      await ctx.sms.send({ to: r.recipient, kind: 'sharing.offer', text: `${what} Accept or reject it: ${link}` }, tx);
    }
    if (r.recipientAccountId) {
      await notifyAccounts(tx, [r.recipientAccountId], { kind: 'sharing.offer', title: 'A site is shared with you', body: what, data: { sharingId: r.id, siteId: site.id } });
    }
  }

  /** A new link for a recipient (with `changes` to it), and the offer sent. */
  async function newOffer(tx: Tx, site: Site, recipientId: string, accountId: string | null, changes: Partial<RecipientRow> = {}) {
    const { token, columns } = freshLink(accountId);
    const [row] = await tx
      .update(sharingRecipients)
      .set({ ...changes, ...columns, decidedAt: null })
      .where(eq(sharingRecipients.id, recipientId))
      .returning();
    await sendOffer(tx, site, await companyName(tx, site.companyId), row!, token);
  }

  async function insertRecipients(tx: Tx, sharingId: string, site: Site, fresh: readonly NewRecipient[], list: readonly SharedDeviceBody[]) {
    const company = await companyName(tx, site.companyId);
    for (const f of fresh) {
      const { token, columns } = freshLink(f.account?.id ?? null);
      const [row] = await tx
        .insert(sharingRecipients)
        .values({ sharingId, siteId: site.id, channel: f.channel, recipient: f.recipient, remarks: f.remarks, isAdmin: f.isAdmin, ...columns })
        .returning();
      await setSharedDevices(tx, row!.id, list);
      await sendOffer(tx, site, company, row!, token);
    }
  }

  /** Each listed device gains this many holders. */
  const adding = (list: readonly SharedDeviceBody[], holders: number) => new Map(list.map((d) => [d.deviceId, holders]));

  /** The site's sharing and its recipients, locked for the change (the 10-customer count and the admin rule). */
  async function lockedSharing(tx: Tx, siteId: string) {
    const [sharing] = await tx.select().from(sharings).where(eq(sharings.siteId, siteId)).for('update');
    if (!sharing) throw notFound();
    const recipients = await tx.select().from(sharingRecipients).where(eq(sharingRecipients.sharingId, sharing.id));
    return { sharing, recipients };
  }

  const holding = (r: RecipientRow, now = Date.now()) => [S.accepted, ...WAITING_SHARING_STATUSES].includes(effectiveStatus(r, now));

  async function view(siteId: string) {
    const v = await siteSharingView(ctx.db, siteId);
    if (!v) throw notFound();
    return v;
  }

  function changed(site: Site) {
    ctx.hub.publish(site.companyId, { type: 'site.changed', siteId: site.id });
  }

  app.post(
    '/sites/:siteId/sharing',
    { schema: { params: SiteParams, body: SharingBodySchema, response: { 201: SiteSharingSchema } }, preHandler: manageSites, config: { oplog: 'Hand Over by Sharing' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      const site = await siteOf(request);
      const body = request.body as SharingBody;
      request.oplog.target = body.recipients.map((r) => r.recipient).join(', ');
      requireSiteOperation(site, SiteOperation.share);
      if (site.type !== SiteType.personal) throw new AppError(422, SharingErrorCode.personalOnly, 'Only a personal site can be handed over by sharing; hand a team site over by transferring.');
      const names = await checkDevices(ctx.db, site.id, body.devices);
      const fresh = await prepare(body.recipients);
      const modeA = body.mode === SharingMode.applyToCustomer;
      assignAdministrators(body.mode, [], fresh);
      if (modeA) {
        const [arc] = await ctx.db.select({ siteId: siteArcAuthorizations.siteId }).from(siteArcAuthorizations).where(eq(siteArcAuthorizations.siteId, site.id));
        if (arc && !ARC_SUB_PERMISSIONS.every((p) => body.arcPermissions?.includes(p))) {
          throw new AppError(422, SharingErrorCode.arcPermissionsRequired, `The site has the ARC service: Mode A must also ask for ${ARC_SUB_PERMISSIONS.join(' and ')}.`);
        }
      }

      await ctx.db.transaction(async (tx) => {
        // The site's row serializes this with a transfer or another sharing of the same site.
        const [locked] = await tx.select().from(sites).where(eq(sites.id, site.id)).for('update');
        requireSiteOperation(locked!, SiteOperation.share);
        await checkShareLimit(tx, adding(body.devices, fresh.length), names);
        const [sharing] = await tx
          .insert(sharings)
          .values({ siteId: site.id, companyId: site.companyId, mode: body.mode, arcPermissions: modeA ? [...(body.arcPermissions ?? [])] : [], remarks: body.remarks ?? '', createdBy: auth.accountId })
          .returning({ id: sharings.id });
        await tx.update(sites).set({ status: SiteStatus.shared, updatedAt: new Date() }).where(eq(sites.id, site.id));
        await endCollaborationsAtHandover(tx, site.id);
        await insertRecipients(tx, sharing!.id, site, fresh, body.devices);
      });
      changed(site);
      return reply.status(201).send(await view(site.id));
    },
  );

  app.get('/sites/:siteId/sharing', { schema: { params: SiteParams, response: { 200: SiteSharingSchema } }, preHandler: manageSites }, async (request) =>
    view((await siteOf(request)).id),
  );

  app.post(
    '/sites/:siteId/sharing/recipients',
    { schema: { params: SiteParams, body: AddRecipientsBodySchema, response: { 201: SiteSharingSchema } }, preHandler: manageSites, config: { oplog: 'Add Customers to Sharing' } },
    async (request, reply) => {
      const site = await siteOf(request);
      const body = request.body as AddRecipientsBody;
      request.oplog.target = body.recipients.map((r) => r.recipient).join(', ');
      requireSiteOperation(site, SiteOperation.batchShareDevices);
      const names = await checkDevices(ctx.db, site.id, body.devices);
      const fresh = await prepare(body.recipients);
      await ctx.db.transaction(async (tx) => {
        const { sharing, recipients } = await lockedSharing(tx, site.id);
        checkNotShared(recipients, fresh);
        assignAdministrators(sharing.mode as SharingMode, recipients.filter((r) => holding(r)), fresh);
        await checkShareLimit(tx, adding(body.devices, fresh.length), names);
        await insertRecipients(tx, sharing.id, site, fresh, body.devices);
      });
      changed(site);
      return reply.status(201).send(await view(site.id));
    },
  );

  /** A recipient of the site's sharing, locked with the sharing, and its state now. */
  async function recipientOf(tx: Tx, request: FastifyRequest, site: Site) {
    const { id } = request.params as { id: string };
    const { sharing, recipients } = await lockedSharing(tx, site.id);
    const r = recipients.find((x) => x.id === id);
    if (!r) throw notFound();
    request.oplog.target = r.recipient;
    return { sharing, recipients, r, status: effectiveStatus(r) };
  }

  app.post(
    '/sites/:siteId/sharing/recipients/:id/reshare',
    { schema: { params: RecipientParams, response: { 200: SiteSharingSchema } }, preHandler: manageSites, config: { oplog: 'Share Again' } },
    async (request) => {
      const site = await siteOf(request);
      await ctx.db.transaction(async (tx) => {
        const { r, status } = await recipientOf(tx, request, site);
        if (!RESHARABLE_STATUSES.includes(status)) throw recipientState(`Only a rejected or expired sharing can be shared again; this one is ${status}.`);
        const names = await namesOfShared(tx, r.id);
        await checkShareLimit(tx, new Map([...names.keys()].map((id) => [id, 1])), names, [r.id]);
        // The customer may have registered since the first link.
        const account = await customerAt(tx, r.channel as 'email' | 'phone', r.recipient);
        await newOffer(tx, site, r.id, account?.id ?? r.recipientAccountId);
      });
      changed(site);
      return view(site.id);
    },
  );

  /** The devices shared with a recipient, by id with their names (for the limit's refusal). */
  async function namesOfShared(tx: Tx, recipientId: string): Promise<Map<string, string>> {
    const rows = await tx
      .select({ id: devices.id, name: devices.name })
      .from(sharedDevices)
      .innerJoin(devices, eq(devices.id, sharedDevices.deviceId))
      .where(eq(sharedDevices.recipientId, recipientId));
    return new Map(rows.map((d) => [d.id, d.name]));
  }

  app.post(
    '/sites/:siteId/sharing/recipients/:id/cancel',
    { schema: { params: RecipientParams, response: { 200: SiteSharingSchema } }, preHandler: manageSites, config: { oplog: 'Cancel Sharing' } },
    async (request) => {
      const site = await siteOf(request);
      await ctx.db.transaction(async (tx) => {
        const { r, status } = await recipientOf(tx, request, site);
        if (!CANCELLABLE_STATUSES.includes(status)) throw recipientState(`Only a sharing to be accepted or accepted can be cancelled; this one is ${status}.`);
        await tx.update(sharingRecipients).set({ status: S.cancelled, decidedAt: new Date() }).where(eq(sharingRecipients.id, r.id));
        if (r.recipientAccountId) {
          await notifyAccounts(tx, [r.recipientAccountId], {
            kind: 'sharing.cancelled',
            title: 'Sharing cancelled',
            body: `The site "${site.name}" is no longer shared with you.`,
            data: { sharingId: r.id, siteId: site.id },
          });
        }
      });
      changed(site);
      return view(site.id);
    },
  );

  app.patch(
    '/sites/:siteId/sharing/recipients/:id',
    { schema: { params: RecipientParams, body: EditRecipientBodySchema, response: { 200: SiteSharingSchema } }, preHandler: manageSites, config: { oplog: 'Edit Shared Customer' } },
    async (request) => {
      const site = await siteOf(request);
      const body = request.body as EditRecipientBody;
      await ctx.db.transaction(async (tx) => {
        const { sharing, recipients, r, status } = await recipientOf(tx, request, site);
        if (sharing.mode !== SharingMode.applyToCustomer) throw new AppError(409, SharingErrorCode.modeB, 'Customers of a Mode B sharing are not edited: cancel the sharing and add the customer again.');
        if (!WAITING_SHARING_STATUSES.includes(status)) throw recipientState(`Only a sharing waiting to be accepted can be edited; this one is ${status}.`);
        const channel = body.channel ?? (r.channel as 'email' | 'phone');
        const recipient = body.recipient !== undefined || body.channel !== undefined ? normalizeRecipient(channel, body.recipient ?? r.recipient) : r.recipient;
        const readdressed = channel !== r.channel || recipient !== r.recipient;
        const account = readdressed ? await customerAt(tx, channel, recipient) : null;
        if (readdressed) checkNotShared(recipients.filter((x) => x.id !== r.id), [{ channel, recipient, remarks: '', isAdmin: false, account }]);
        // Making this customer the administrator takes the role from whoever had it; a sole customer is the administrator.
        const others = recipients.filter((x) => x.id !== r.id && holding(x));
        const isAdmin = others.length === 0 || (body.isAdmin ?? r.isAdmin);
        checkAdministrators([...others.map((x) => ({ isAdmin: isAdmin ? false : x.isAdmin })), { isAdmin }]);
        if (isAdmin) await tx.update(sharingRecipients).set({ isAdmin: false }).where(and(eq(sharingRecipients.sharingId, sharing.id), ne(sharingRecipients.id, r.id)));
        const changes = { channel, recipient, isAdmin, remarks: body.remarks ?? r.remarks };
        // A new address is a new offer: the old link stops working.
        if (readdressed) await newOffer(tx, site, r.id, account?.id ?? null, changes);
        else await tx.update(sharingRecipients).set(changes).where(eq(sharingRecipients.id, r.id));
      });
      changed(site);
      return view(site.id);
    },
  );

  app.put(
    '/sites/:siteId/sharing/recipients/:id/devices',
    { schema: { params: RecipientParams, body: RecipientDevicesBodySchema, response: { 200: SiteSharingSchema } }, preHandler: manageSites, config: { oplog: 'Batch Share Devices' } },
    async (request) => {
      const site = await siteOf(request, SiteOperation.batchShareDevices);
      const body = request.body as RecipientDevicesBody;
      const names = await checkDevices(ctx.db, site.id, body.devices);
      await ctx.db.transaction(async (tx) => {
        const { r, status } = await recipientOf(tx, request, site);
        if (status === S.cancelled) throw recipientState('This sharing is cancelled: add the customer again instead.');
        // Only a recipient holding its place counts towards the limit; the others are counted when shared again.
        if (holding(r)) await checkShareLimit(tx, adding(body.devices, 1), names, [r.id]);
        await setSharedDevices(tx, r.id, body.devices);
      });
      changed(site);
      return view(site.id);
    },
  );

  // ---- the customer's side ----------------------------------------------------------------------------

  app.get('/sharings/:token', { schema: { params: SharingTokenParamsSchema, response: { 200: SharingOfferSchema } }, config: { public: true } }, async (request) => {
    const { token } = request.params as { token: string };
    const me = request.auth ? await accountOf(request.auth.accountId) : null;
    const [offer] = await offers(ctx.db, eq(sharingRecipients.tokenHash, sha256(token)), me);
    if (!offer) throw notFound();
    return offer;
  });

  async function accountOf(accountId: string) {
    const [a] = await ctx.db.select({ id: accounts.id, email: accounts.email, phone: accounts.phone }).from(accounts).where(eq(accounts.id, accountId));
    return a!;
  }

  app.get('/customer/sharings', { schema: { response: { 200: CustomerSharingsReplySchema } }, preHandler: requireCustomer }, async (request) => {
    const me = await accountOf(requireAuth(request).accountId);
    const items = await offers(ctx.db, and(sentTo(me), inArray(sharingRecipients.status, [...WAITING_SHARING_STATUSES]), sql`${sharingRecipients.expiresAt} > now()`)!, me);
    return { items };
  });

  /** The recipient answers: only while waiting and not expired; the company that shared is told. */
  async function decide(request: FastifyRequest, accept: boolean) {
    const me = await accountOf(requireAuth(request).accountId);
    const { id } = request.params as { id: string };
    const decided = await ctx.db.transaction(async (tx) => {
      const [row] = await tx
        .select({ r: sharingRecipients, sharing: sharings, site: sites })
        .from(sharingRecipients)
        .innerJoin(sharings, eq(sharings.id, sharingRecipients.sharingId))
        .innerJoin(sites, eq(sites.id, sharingRecipients.siteId))
        .where(eq(sharingRecipients.id, id))
        .for('update', { of: sharingRecipients });
      if (!row) throw notFound();
      request.oplog.siteId = row.site.id;
      request.oplog.siteName = row.site.name;
      request.oplog.target = row.site.name;
      if (!isFor(row.r, me)) throw new AppError(403, SharingErrorCode.notRecipient, 'This sharing was sent to another customer.');
      const status: RecipientStatus = effectiveStatus(row.r);
      if (status === S.expired) throw new AppError(410, SharingErrorCode.expired, 'This sharing has expired: ask the installer to share the site again.');
      if (!WAITING_SHARING_STATUSES.includes(status)) throw recipientState(`This sharing is ${status}: there is nothing to answer.`);
      await tx
        .update(sharingRecipients)
        .set({ status: accept ? S.accepted : S.rejected, recipientAccountId: me.id, decidedAt: new Date() })
        .where(eq(sharingRecipients.id, id));

      const verb = accept ? 'accepted' : 'rejected';
      const to: Recipient[] = row.sharing.createdBy
        ? await tx.select({ id: accounts.id, email: accounts.email, name: accounts.name }).from(accounts).where(eq(accounts.id, row.sharing.createdBy))
        : await accountsWithRole(tx, AccountRole.installerAdmin, row.sharing.companyId);
      const text = `${row.r.recipient} has ${verb} the sharing of the site "${row.site.name}".`;
      const title = `Sharing ${verb}`;
      await tellAccounts(tx, ctx.mail, to, { kind: `sharing.${verb}`, title, body: text, data: { sharingId: id, siteId: row.site.id } }, () => ({ subject: title, text: `${text}\n` }));
      return { companyId: row.sharing.companyId, siteId: row.site.id };
    });
    ctx.hub.publish(decided.companyId, { type: 'site.changed', siteId: decided.siteId });
    const [offer] = await offers(ctx.db, eq(sharingRecipients.id, id), me);
    return offer!;
  }

  app.post(
    '/customer/sharings/:id/accept',
    { schema: { params: IdParams, response: { 200: SharingOfferSchema } }, preHandler: requireCustomer, config: { oplog: 'Accept Sharing' } },
    async (request) => decide(request, true),
  );
  app.post(
    '/customer/sharings/:id/reject',
    { schema: { params: IdParams, response: { 200: SharingOfferSchema } }, preHandler: requireCustomer, config: { oplog: 'Reject Sharing' } },
    async (request) => decide(request, false),
  );
}
