import type { FastifyInstance } from 'fastify';
import { and, asc, eq, sql } from 'drizzle-orm';
import {
  CustomerDevicesReplySchema,
  compactPhone,
  CustomerErrorCode,
  CustomerRegisterBodySchema,
  CustomerSiteRelation,
  CustomerSiteSchema,
  CustomerSitesReplySchema,
  DEVICE_USES,
  ErrorCode,
  MeReplySchema,
  passwordProblem,
  type CustomerDevice,
  type CustomerRegisterBody,
  type CustomerSite,
} from '@vigil/protocol/api';
import { requireAuth, requireCustomer } from '../auth/plugin.js';
import { startPortalSession } from '../auth/routes.js';
import { meOf } from '../auth/sessions.js';
import { companies, devices, sharedDevices, sharingRecipients, sites } from '../db/schema.js';
import { bindWaitingToAccount, countryOfWaitingOffer } from '../handover/handovers.js';
import { AppError } from '../http/errors.js';
import { SiteParams } from '../http/params.js';
import { requireE164 } from '../sms/outbox.js';
import type { Auth } from '../types.js';
import { customerSite, customerSiteNotFound, customerSiteScope, relationTo } from './access.js';
import { createCustomerAccount } from './accounts.js';

/**
 * The devices the customer sees on each site of its list: all of them for an owner, those shared with it for an
 * accepted sharing recipient (CASE runs only the count that applies). Written out in SQL for use inside the select.
 */
const deviceCount = (auth: Auth) =>
  sql<number>`CASE WHEN "sites"."owner_account_id" = ${auth.accountId}
    THEN (SELECT count(*)::int FROM devices d WHERE d.site_id = "sites"."id")
    ELSE (SELECT count(*)::int FROM shared_devices sd JOIN sharing_recipients sr ON sr.id = sd.recipient_id
      WHERE sr.site_id = "sites"."id" AND sr.recipient_account_id = ${auth.accountId} AND sr.status = 'Accepted') END`;

/**
 * The customer's side of the platform (the manual's Hik-Connect user): registering, and the sites it owns or that
 * are shared with it. See protocol/src/api/customers.ts.
 */
export async function customerRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.post(
    '/customer/register',
    { schema: { body: CustomerRegisterBodySchema, response: { 201: MeReplySchema } }, config: { public: true, oplog: 'Register Customer Account' } },
    async (request, reply) => {
      const body = request.body as CustomerRegisterBody;
      const email = body.email.trim().toLowerCase();
      // Kept compacted, as handovers and sharing address it.
      const phone = body.phone?.trim() ? compactPhone(body.phone) : null;
      if (phone) requireE164(phone);
      const problem = passwordProblem(body.password, email);
      if (problem) throw new AppError(400, ErrorCode.passwordPolicy, problem);
      const countryCode = body.countryCode ?? (await countryOfWaitingOffer(ctx.db, { email, phone }));
      if (!countryCode) throw new AppError(400, CustomerErrorCode.countryRequired, 'Choose your country or region.');

      const account = await ctx.db.transaction(async (tx) => {
        const created = await createCustomerAccount(tx, { name: body.name.trim(), email, phone, password: body.password, countryCode });
        await bindWaitingToAccount(tx, created);
        return created;
      });
      request.oplog.actor = { accountId: account.id, companyId: account.companyId, name: account.name, email: account.email };
      request.oplog.target = account.email;
      await startPortalSession(app, request, reply, account.id);
      return reply.status(201).send(await meOf(ctx.db, account.id));
    },
  );

  async function listSites(auth: Auth, siteId?: string): Promise<CustomerSite[]> {
    const rows = await ctx.db
      .select({ site: sites, companyName: companies.name, deviceCount: deviceCount(auth) })
      .from(sites)
      .innerJoin(companies, eq(companies.id, sites.companyId))
      .where(and(customerSiteScope(auth), siteId ? eq(sites.id, siteId) : undefined))
      .orderBy(asc(sites.name), asc(sites.id));
    return rows.map(({ site: s, companyName, deviceCount }) => ({
      id: s.id,
      name: s.name,
      type: s.type as CustomerSite['type'],
      status: s.status as CustomerSite['status'],
      timeZone: s.timeZone,
      address: s.address,
      city: s.city,
      relation: relationTo(s, auth),
      companyId: s.companyId,
      companyName,
      deviceCount,
      createdAt: s.createdAt.toISOString(),
    }));
  }

  app.get('/customer/sites', { schema: { response: { 200: CustomerSitesReplySchema } }, preHandler: requireCustomer }, async (request) => ({
    items: await listSites(requireAuth(request)),
  }));

  app.get('/customer/sites/:siteId', { schema: { params: SiteParams, response: { 200: CustomerSiteSchema } }, preHandler: requireCustomer }, async (request) => {
    const [site] = await listSites(requireAuth(request), (request.params as { siteId: string }).siteId);
    if (!site) throw customerSiteNotFound();
    return site;
  });

  app.get(
    '/customer/sites/:siteId/devices',
    { schema: { params: SiteParams, response: { 200: CustomerDevicesReplySchema } }, preHandler: requireCustomer },
    async (request) => {
      const auth = requireAuth(request);
      const { site, relation } = await customerSite(ctx.db, auth, (request.params as { siteId: string }).siteId);
      const columns = { id: devices.id, name: devices.name, kind: devices.kind, model: devices.model, serial: devices.serial, status: devices.status };
      let items: CustomerDevice[];
      if (relation === CustomerSiteRelation.owner) {
        const rows = await ctx.db.select(columns).from(devices).where(eq(devices.siteId, site.id)).orderBy(asc(devices.name), asc(devices.id));
        items = rows.map((d) => ({ ...d, status: d.status as CustomerDevice['status'], permissions: [...DEVICE_USES], validity: null }));
      } else {
        const rows = await ctx.db
          .select({ ...columns, permissions: sharedDevices.permissions, validity: sharedDevices.validity })
          .from(sharedDevices)
          .innerJoin(sharingRecipients, eq(sharingRecipients.id, sharedDevices.recipientId))
          .innerJoin(devices, eq(devices.id, sharedDevices.deviceId))
          .where(and(eq(sharingRecipients.siteId, site.id), eq(sharingRecipients.recipientAccountId, auth.accountId), eq(sharingRecipients.status, 'Accepted')))
          .orderBy(asc(devices.name), asc(devices.id));
        items = rows.map((d) => ({ ...d, status: d.status as CustomerDevice['status'] }));
      }
      return { items };
    },
  );
}
