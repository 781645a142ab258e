import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { and, eq, gte, sql } from 'drizzle-orm';
import Type from 'typebox';
import {
  CoBrandingErrorCode,
  CoBrandingOrderBodySchema,
  CoBrandingSchema,
  CoBrandingSource,
  CoBrandingSwitchBodySchema,
  ErrorCode,
  FREE_YEAR_MONTHS,
  LOGO_MAX_BYTES,
  LogoBodySchema,
  PAYMENT_METHOD_LABELS,
  POINTS_PER_MONTH,
  RedeemPointsBodySchema,
  ServiceKeysBodySchema,
  ServiceType,
  SiteBrandingSchema,
  type CoBrandingOrderBody,
  type CoBrandingSwitchBody,
  type LogoBody,
  type RedeemPointsBody,
  type ServiceKeysBody,
  type SiteBranding,
} from '@vigil/protocol/api';
import { requireAuth, requireCustomer, requireInstallerAdmin } from '../auth/plugin.js';
import { customerSite } from '../customers/access.js';
import { coBrandings, companies } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { SiteParams } from '../http/params.js';
import { requireAuthenticatedCompany } from '../regions/features.js';
import { redeemServiceKeys } from '../service-keys/keys.js';
import { checkedLogo, claimFreeYear, CO_BRANDING_REMINDER_JOB, coBrandingView, extendCoBranding, isActive, lockCoBranding, logoTag, remindOfExpiry } from './service.js';

/** Base64 of the largest logo, and room for the rest of the JSON body. */
const LOGO_BODY_LIMIT = Math.ceil(LOGO_MAX_BYTES / 3) * 4 + 1024;
/** The logo's address carries its fingerprint, so a browser may keep it a while: a new logo has a new address. */
const LOGO_CACHE = 'private, max-age=3600';
/** The API's address, for links the portal follows. */
const API = '/api/v1';
const LogoQuery = Type.Object({ v: Type.Optional(Type.String({ maxLength: 64 })) });

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** Sends a stored logo, answering 304 when the browser has it already. */
function sendLogo(request: FastifyRequest, reply: FastifyReply, logo: string, contentType: string) {
  const etag = `"${logoTag(logo)}"`;
  void reply.header('cache-control', LOGO_CACHE).header('etag', etag).header('x-content-type-options', 'nosniff');
  if (request.headers['if-none-match'] === etag) return reply.status(304).send();
  return reply.type(contentType).send(Buffer.from(logo, 'base64'));
}

const noLogo = () => new AppError(404, CoBrandingErrorCode.logoNotFound, 'No logo is shown.');

/**
 * Co-branding (manual §3.3.3): the Installer Admin obtains the service (purchase, service keys, reward points),
 * switches it on and uploads the logo; the company's customers then see the logo, or the company name, on their sites.
 */
export async function coBrandingRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const admin = { preHandler: requireInstallerAdmin };
  ctx.jobs.handle(CO_BRANDING_REMINDER_JOB, async (payload) => {
    await ctx.db.transaction((tx) => remindOfExpiry(tx, ctx.mail, String(payload.companyId), String(payload.validUntil)));
  });

  app.get('/company/co-branding', { ...admin, schema: { response: { 200: CoBrandingSchema } } }, async (request) => coBrandingView(ctx.db, requireAuth(request).companyId));

  app.put(
    '/company/co-branding',
    { ...admin, schema: { body: CoBrandingSwitchBodySchema, response: { 200: CoBrandingSchema } }, config: { oplog: 'Enable Co-Branding' } },
    async (request) => {
      const auth = requireAuth(request);
      const { enabled } = request.body as CoBrandingSwitchBody;
      if (!enabled) request.oplog.action = 'Disable Co-Branding';
      return ctx.db.transaction(async (tx) => {
        const row = await lockCoBranding(tx, auth.companyId);
        if (enabled && !isActive({ enabled, validUntil: row.validUntil })) {
          throw new AppError(
            409,
            CoBrandingErrorCode.notActive,
            row.validUntil === null
              ? 'Your company has no co-branding service yet: purchase it, redeem a service key or reward points first.'
              : `Your co-branding service expired on ${row.validUntil.toISOString()}: extend it first.`,
          );
        }
        await tx.update(coBrandings).set({ enabled, updatedAt: new Date() }).where(eq(coBrandings.companyId, auth.companyId));
        return coBrandingView(tx, auth.companyId);
      });
    },
  );

  app.put(
    '/company/co-branding/logo',
    { ...admin, bodyLimit: LOGO_BODY_LIMIT, schema: { body: LogoBodySchema, response: { 200: CoBrandingSchema } }, config: { oplog: 'Upload Logo' } },
    async (request) => {
      const auth = requireAuth(request);
      const { contentType, data } = request.body as LogoBody;
      const bytes = checkedLogo(contentType, data);
      request.oplog.detail = `${contentType}, ${Math.ceil(bytes.length / 1024)} KB`;
      return ctx.db.transaction(async (tx) => {
        await lockCoBranding(tx, auth.companyId);
        await tx.update(coBrandings).set({ logo: bytes.toString('base64'), logoContentType: contentType, updatedAt: new Date() }).where(eq(coBrandings.companyId, auth.companyId));
        return coBrandingView(tx, auth.companyId);
      });
    },
  );

  app.get('/company/co-branding/logo', { ...admin, schema: { querystring: LogoQuery } }, async (request, reply) => {
    const [row] = await ctx.db.select().from(coBrandings).where(eq(coBrandings.companyId, requireAuth(request).companyId));
    if (!row?.logo || !row.logoContentType) throw noLogo();
    return sendLogo(request, reply, row.logo, row.logoContentType);
  });

  app.delete('/company/co-branding/logo', { ...admin, schema: { response: { 200: CoBrandingSchema } }, config: { oplog: 'Delete Logo' } }, async (request) => {
    const auth = requireAuth(request);
    await ctx.db.update(coBrandings).set({ logo: null, logoContentType: null, updatedAt: new Date() }).where(eq(coBrandings.companyId, auth.companyId));
    return coBrandingView(ctx.db, auth.companyId);
  });

  app.post(
    '/company/co-branding/orders',
    { ...admin, schema: { body: CoBrandingOrderBodySchema, response: { 201: CoBrandingSchema } }, config: { oplog: 'Purchase Co-Branding' } },
    async (request, reply) => {
      const auth = requireAuth(request);
      await requireAuthenticatedCompany(ctx.db, auth);
      const body = request.body as CoBrandingOrderBody;
      request.oplog.detail = `${body.months} months, ${PAYMENT_METHOD_LABELS[body.paymentMethod]}`;
      const details: Record<string, string> = { channel: 'portal', vatNumber: body.vatNumber.trim(), paymentMethod: body.paymentMethod };
      if (body.distributorCode) details.distributorCode = body.distributorCode;
      if (body.salesCode) details.salesCode = body.salesCode;
      // No payment provider is connected: the order is recorded as paid, as cloud storage orders are.
      const view = await ctx.db.transaction(async (tx) => {
        await extendCoBranding(tx, ctx.jobs, auth.companyId, auth.accountId, [{ source: CoBrandingSource.purchase, months: body.months, details }]);
        return coBrandingView(tx, auth.companyId);
      });
      return reply.status(201).send(view);
    },
  );

  app.post(
    '/company/co-branding/service-keys',
    { ...admin, schema: { body: ServiceKeysBodySchema, response: { 200: CoBrandingSchema } }, config: { oplog: 'Activate by Service Key' } },
    async (request) => {
      const auth = requireAuth(request);
      await requireAuthenticatedCompany(ctx.db, auth);
      const { keys } = request.body as ServiceKeysBody;
      return ctx.db.transaction(async (tx) => {
        const redeemed = await redeemServiceKeys(tx, keys, ServiceType.coBranding, auth.companyId);
        request.oplog.detail = `${plural(redeemed.length, 'key')}: ${redeemed.map((k) => k.code).join(', ')}`;
        await extendCoBranding(
          tx,
          ctx.jobs,
          auth.companyId,
          auth.accountId,
          redeemed.map((k) => ({ source: CoBrandingSource.serviceKey, months: k.months, details: { serviceKey: k.code } })),
        );
        return coBrandingView(tx, auth.companyId);
      });
    },
  );

  app.post(
    '/company/co-branding/redeem-points',
    { ...admin, schema: { body: RedeemPointsBodySchema, response: { 200: CoBrandingSchema } }, config: { oplog: 'Redeem Points for Co-Branding' } },
    async (request) => {
      const auth = requireAuth(request);
      const { months } = request.body as RedeemPointsBody;
      const cost = months * POINTS_PER_MONTH;
      request.oplog.detail = `${plural(months, 'month')} for ${cost} points`;
      return ctx.db.transaction(async (tx) => {
        const [paid] = await tx
          .update(companies)
          .set({ rewardPoints: sql`${companies.rewardPoints} - ${cost}` })
          .where(and(eq(companies.id, auth.companyId), gte(companies.rewardPoints, cost)))
          .returning({ rewardPoints: companies.rewardPoints });
        if (!paid) {
          const [company] = await tx.select({ rewardPoints: companies.rewardPoints }).from(companies).where(eq(companies.id, auth.companyId));
          throw new AppError(
            422,
            CoBrandingErrorCode.notEnoughPoints,
            `${plural(months, 'month')} of co-branding cost ${cost} points; your company has ${company?.rewardPoints ?? 0}.`,
          );
        }
        await extendCoBranding(tx, ctx.jobs, auth.companyId, auth.accountId, [{ source: CoBrandingSource.rewardPoints, months, details: { points: String(cost) } }]);
        return coBrandingView(tx, auth.companyId);
      });
    },
  );

  app.post(
    '/company/co-branding/free-year',
    { ...admin, schema: { response: { 200: CoBrandingSchema } }, config: { oplog: 'Get Free Co-Branding' } },
    async (request) => {
      const auth = requireAuth(request);
      return ctx.db.transaction(async (tx) => {
        const p2pDevices = await claimFreeYear(tx, ctx.jobs, auth.companyId, auth.accountId);
        request.oplog.detail = `${plural(FREE_YEAR_MONTHS, 'month')}, ${plural(p2pDevices, 'P2P device')}`;
        return coBrandingView(tx, auth.companyId);
      });
    },
  );

  // ---- the customer's side --------------------------------------------------------------------------

  /** The co-branding of the company looking after a site the customer owns or shares. */
  async function brandingOf(request: FastifyRequest) {
    const auth = requireAuth(request);
    const { site } = await customerSite(ctx.db, auth, (request.params as { siteId: string }).siteId);
    const [row] = await ctx.db
      .select({ companyName: companies.name, branding: coBrandings })
      .from(companies)
      .leftJoin(coBrandings, eq(coBrandings.companyId, companies.id))
      .where(eq(companies.id, site.companyId));
    if (!row) throw new AppError(404, ErrorCode.siteNotFound, 'Site not found.');
    return { site, companyName: row.companyName, branding: row.branding ?? undefined };
  }

  const customer = { preHandler: requireCustomer };

  app.get(
    '/customer/sites/:siteId/branding',
    { ...customer, schema: { params: SiteParams, response: { 200: SiteBrandingSchema } } },
    async (request): Promise<SiteBranding> => {
      const { site, companyName, branding } = await brandingOf(request);
      const active = isActive(branding);
      const logo = active && branding?.logo ? branding.logo : null;
      return {
        active,
        companyName,
        logoUrl: logo === null ? null : `${API}/customer/sites/${site.id}/branding/logo?v=${logoTag(logo)}`,
      };
    },
  );

  app.get('/customer/sites/:siteId/branding/logo', { ...customer, schema: { params: SiteParams, querystring: LogoQuery } }, async (request, reply) => {
    const { branding } = await brandingOf(request);
    if (!isActive(branding) || !branding?.logo || !branding.logoContentType) throw noLogo();
    return sendLogo(request, reply, branding.logo, branding.logoContentType);
  });
}
