import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { CompanyErrorCode, CompanyProfileSchema, ErrorCode, CompanyUpdateBodySchema, type CompanyProfile, type CompanyUpdateBody } from '@vigil/protocol/api';
import { requireAuth, requireInstallerAdmin } from '../auth/plugin.js';
import type { Db } from '../db/client.js';
import { companies } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { featuresOf } from '../regions/features.js';
import { VENDOR_COMPANY_TYPE } from '../vendor/bootstrap.js';

export async function companyProfile(db: Db, companyId: string): Promise<CompanyProfile> {
  const [c] = await db.select().from(companies).where(eq(companies.id, companyId));
  if (!c) throw new AppError(404, CompanyErrorCode.companyNotFound, 'Company not found.');
  return {
    id: c.id,
    name: c.name,
    type: c.type,
    countryCode: c.countryCode,
    address: c.address,
    authStatus: c.authStatus as CompanyProfile['authStatus'],
    // The operator's company is in no region: it buys nothing.
    features: c.type === VENDOR_COMPANY_TYPE ? [] : await featuresOf(db, c.countryCode),
    rewardPoints: c.rewardPoints,
    createdAt: c.createdAt.toISOString(),
  };
}

/** The company's information (manual §3.4.1): every account reads it, the Installer Admin edits it. */
export async function profileRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.get('/company', { schema: { response: { 200: CompanyProfileSchema } } }, async (request) => companyProfile(ctx.db, requireAuth(request).companyId));

  app.patch(
    '/company',
    { schema: { body: CompanyUpdateBodySchema, response: { 200: CompanyProfileSchema } }, preHandler: requireInstallerAdmin, config: { oplog: 'Edit Company Information' } },
    async (request) => {
      const { companyId } = requireAuth(request);
      const body = request.body as CompanyUpdateBody;
      const name = body.name?.trim();
      if (name === '') throw new AppError(400, ErrorCode.validationFailed, 'The company name cannot be blank.');
      const changes = { ...(name === undefined ? {} : { name }), ...(body.address === undefined ? {} : { address: body.address.trim() }) };
      await ctx.db.update(companies).set(changes).where(eq(companies.id, companyId));
      const profile = await companyProfile(ctx.db, companyId);
      request.oplog.target = profile.name;
      request.oplog.detail = Object.keys(changes).join(', ');
      return profile;
    },
  );
}
