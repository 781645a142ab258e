import type { FastifyInstance, FastifyRequest } from 'fastify';
import formbody from '@fastify/formbody';
import { and, eq, sql } from 'drizzle-orm';
import Type from 'typebox';
import { generateServiceProviderMetadata } from '@node-saml/node-saml';
import {
  CompanyErrorCode,
  EmployeeErrorCode,
  RegionFeature,
  SamlClaim,
  ScimTokenReplySchema,
  SsoConfigSchema,
  SsoErrorCode,
  SsoMetadataBodySchema,
  SsoStartBodySchema,
  SsoStartReplySchema,
  SsoUpdateBodySchema,
  type SsoConfig,
  type SsoUpdateBody,
} from '@vigil/protocol/api';
import { requireAuth, requireInstallerAdmin, writeOplog } from '../auth/plugin.js';
import { startPortalSession } from '../auth/routes.js';
import { accounts, companies, roles, ssoConfigs } from '../db/schema.js';
import { isUniqueViolation } from '../db/errors.js';
import { AppError } from '../http/errors.js';
import { featuresOf, requireFeature } from '../regions/features.js';
import { randomToken, sha256 } from '../security/secrets.js';
import { certificateInfo, parseIdpMetadata } from './metadata.js';
import { assertionFacts, EMAIL_FORMAT, firstUseOfAssertion, serviceProvider, spValues, type SsoConfigRow } from './saml.js';

const CompanyParams = Type.Object({ companyId: Type.String({ format: 'uuid' }) });
const LOGIN_ACTION = 'Log In via Azure AD';

const notConfigured = () => new AppError(404, SsoErrorCode.notConfigured, 'Azure AD login is not configured yet: upload the metadata document first.');
const unavailable = () =>
  new AppError(404, SsoErrorCode.unavailable, 'This email cannot sign in through an identity provider: sign in with your password, or ask your company.');

/** A refusal of the sign-in: the browser is the client, so it goes back to the login page with the code. */
class SsoRefusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Azure AD (Microsoft Entra ID) login, manual §3.4.3: the Installer Admin's configuration, the SAML service
 * provider (sign-in starts here and the identity provider posts its answer back), and the SP's metadata.
 */
export async function ssoRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const admin = [requireInstallerAdmin, async (request: FastifyRequest) => requireFeature(ctx.db, requireAuth(request), RegionFeature.azureAdLogin)];

  const configOf = async (companyId: string): Promise<SsoConfigRow | undefined> =>
    (await ctx.db.select().from(ssoConfigs).where(eq(ssoConfigs.companyId, companyId)))[0];

  const view = (row: SsoConfigRow): SsoConfig => {
    const sp = spValues(ctx.publicUrl, row.companyId);
    return {
      spEntityId: sp.entityId,
      replyUrl: sp.replyUrl,
      idpEntityId: row.idpEntityId,
      idpSsoUrl: row.idpSsoUrl,
      tenantId: row.tenantId,
      certificates: row.idpCerts.map(certificateInfo),
      defaultRoleId: row.defaultRoleId,
      scimTenantUrl: sp.scimTenantUrl,
      scimTokenSet: row.scimTokenHash !== null,
      loginEnabled: row.loginEnabled,
      syncEnabled: row.syncEnabled,
      updatedAt: row.updatedAt.toISOString(),
    };
  };

  // ---- the Installer Admin's configuration --------------------------------------------------------

  app.get('/company/sso', { preHandler: admin, schema: { response: { 200: SsoConfigSchema } } }, async (request) => {
    const row = await configOf(requireAuth(request).companyId);
    if (!row) throw notConfigured();
    return view(row);
  });

  app.put(
    '/company/sso/metadata',
    { preHandler: admin, schema: { body: SsoMetadataBodySchema, response: { 200: SsoConfigSchema } }, config: { oplog: 'Upload Metadata Document' } },
    async (request) => {
      const { companyId } = requireAuth(request);
      const meta = parseIdpMetadata((request.body as { metadataXml: string }).metadataXml);
      request.oplog.target = meta.entityId;
      const fields = { idpEntityId: meta.entityId, idpSsoUrl: meta.ssoUrl, idpCerts: meta.certs, idpMetadataXml: (request.body as { metadataXml: string }).metadataXml, tenantId: meta.tenantId };
      try {
        // Uploading again replaces the identity provider; the switches, default role and token stay.
        const [row] = await ctx.db
          .insert(ssoConfigs)
          .values({ companyId, ...fields })
          .onConflictDoUpdate({ target: ssoConfigs.companyId, set: { ...fields, updatedAt: new Date() } })
          .returning();
        return view(row!);
      } catch (err) {
        if (isUniqueViolation(err, 'sso_configs_tenant_id_unique')) {
          throw new AppError(409, SsoErrorCode.tenantTaken, 'This identity-provider tenant is already bound to another company: one tenant belongs to one company.');
        }
        throw err;
      }
    },
  );

  app.patch(
    '/company/sso',
    { preHandler: admin, schema: { body: SsoUpdateBodySchema, response: { 200: SsoConfigSchema } }, config: { oplog: 'Edit Azure AD Login Settings' } },
    async (request) => {
      const { companyId } = requireAuth(request);
      const body = request.body as SsoUpdateBody;
      if (body.defaultRoleId) {
        const [role] = await ctx.db.select({ id: roles.id }).from(roles).where(and(eq(roles.id, body.defaultRoleId), eq(roles.companyId, companyId)));
        if (!role) throw new AppError(404, EmployeeErrorCode.roleNotFound, 'Role not found.');
      }
      // Accounts synced before keep their role: the default is read when an account is created.
      const [row] = await ctx.db
        .update(ssoConfigs)
        .set({ ...body, updatedAt: new Date() })
        .where(eq(ssoConfigs.companyId, companyId))
        .returning();
      if (!row) throw notConfigured();
      request.oplog.detail = Object.entries(body)
        .map(([k, v]) => `${k}: ${String(v)}`)
        .join(', ');
      return view(row);
    },
  );

  app.post(
    '/company/sso/scim-token',
    { preHandler: admin, schema: { response: { 200: ScimTokenReplySchema } }, config: { oplog: 'Generate Secret Token' } },
    async (request) => {
      const { companyId } = requireAuth(request);
      const token = randomToken(32);
      const [row] = await ctx.db
        .update(ssoConfigs)
        .set({ scimTokenHash: sha256(token), updatedAt: new Date() })
        .where(eq(ssoConfigs.companyId, companyId))
        .returning({ companyId: ssoConfigs.companyId });
      if (!row) throw notConfigured();
      return { token, scimTenantUrl: spValues(ctx.publicUrl, companyId).scimTenantUrl };
    },
  );

  // ---- the service provider -----------------------------------------------------------------------

  app.get('/sso/saml/:companyId/metadata', { config: { public: true }, schema: { params: CompanyParams, hide: true } }, async (request, reply) => {
    const { companyId } = request.params as { companyId: string };
    const [company] = await ctx.db.select({ id: companies.id }).from(companies).where(eq(companies.id, companyId));
    if (!company) throw new AppError(404, CompanyErrorCode.companyNotFound, 'Company not found.');
    const sp = spValues(ctx.publicUrl, companyId);
    const xml = generateServiceProviderMetadata({ issuer: sp.entityId, callbackUrl: sp.replyUrl, identifierFormat: EMAIL_FORMAT, wantAssertionsSigned: true });
    return reply.type('application/samlmetadata+xml').send(xml);
  });

  app.post(
    '/auth/sso',
    // The sign-in itself is logged when the identity provider answers.
    { schema: { body: SsoStartBodySchema, response: { 200: SsoStartReplySchema } }, config: { public: true, oplog: false } },
    async (request) => {
      const { email } = request.body as { email: string };
      const [row] = await ctx.db
        .select({ account: accounts, countryCode: companies.countryCode, config: ssoConfigs })
        .from(accounts)
        .innerJoin(companies, eq(companies.id, accounts.companyId))
        .innerJoin(ssoConfigs, eq(ssoConfigs.companyId, accounts.companyId))
        .where(sql`lower(${accounts.email}) = ${email.toLowerCase()}`);
      // One answer for every reason, so the form does not tell which emails have accounts.
      if (!row || !row.account.synced || !row.account.enabled || !row.config.loginEnabled) throw unavailable();
      if (!(await featuresOf(ctx.db, row.countryCode)).includes(RegionFeature.azureAdLogin)) throw unavailable();
      const url = await serviceProvider(ctx.db, ctx.publicUrl, row.config).getAuthorizeUrlAsync('', undefined, { additionalParams: { login_hint: email } });
      return { redirectUrl: url };
    },
  );

  // The identity provider's form post: its own scope, so only this route reads form bodies.
  await app.register(async (acs) => {
    await acs.register(formbody, { bodyLimit: 512 * 1024 });
    acs.post('/sso/saml/:companyId/acs', { config: { public: true, oplog: false }, schema: { params: CompanyParams, hide: true } }, async (request, reply) => {
      const { companyId } = request.params as { companyId: string };
      try {
        const accountId = await assertionConsumer(app, request, companyId);
        await startPortalSession(app, request, reply, accountId);
        await writeOplog(app, request, reply, LOGIN_ACTION);
        return reply.redirect('/sites', 303);
      } catch (err) {
        if (!(err instanceof SsoRefusal)) throw err;
        request.log.info({ companyId, code: err.code, reason: err.message }, 'SSO sign-in refused');
        request.oplog.detail = err.message;
        // The log line's result follows the reply's status: mark the refusal before writing it.
        void reply.code(403);
        await writeOplog(app, request, reply, LOGIN_ACTION);
        return reply.redirect(`/login?sso_error=${encodeURIComponent(err.code)}`, 303);
      }
    });
  });
}

/** Checks the identity provider's answer and returns the account it signs in; throws SsoRefusal. */
async function assertionConsumer(app: FastifyInstance, request: FastifyRequest, companyId: string): Promise<string> {
  const { db, publicUrl } = app.ctx;
  const [config] = await db.select().from(ssoConfigs).where(eq(ssoConfigs.companyId, companyId));
  if (!config) throw new SsoRefusal(SsoErrorCode.unavailable, 'the company has no identity provider');
  const body = (request.body ?? {}) as Record<string, unknown>;
  if (typeof body.SAMLResponse !== 'string' || body.SAMLResponse.length === 0) throw new SsoRefusal(SsoErrorCode.assertionInvalid, 'no SAMLResponse');

  let facts: ReturnType<typeof assertionFacts>;
  let nameId: string;
  try {
    const { profile } = await serviceProvider(db, publicUrl, config).validatePostResponseAsync({ SAMLResponse: body.SAMLResponse });
    if (!profile) throw new Error('no assertion');
    facts = assertionFacts(profile);
    nameId = profile.nameID;
  } catch (err) {
    throw new SsoRefusal(SsoErrorCode.assertionInvalid, `the assertion is not valid (${(err as Error).message})`);
  }
  if (facts.issuer !== config.idpEntityId) throw new SsoRefusal(SsoErrorCode.assertionInvalid, 'the assertion comes from another issuer');
  if (!facts.id) throw new SsoRefusal(SsoErrorCode.assertionInvalid, 'the assertion has no ID');
  const { replyUrl } = spValues(publicUrl, companyId);
  if (facts.recipients.some((r) => r !== replyUrl)) throw new SsoRefusal(SsoErrorCode.assertionInvalid, 'the assertion is meant for another reply URL');

  const email = (facts.one(SamlClaim.email) ?? nameId).toLowerCase();
  const [account] = await db
    .select()
    .from(accounts)
    .where(and(eq(accounts.companyId, companyId), sql`lower(${accounts.email}) = ${email}`));
  if (account) request.oplog.actor = { accountId: account.id, companyId, name: account.name, email: account.email };

  if (!(await firstUseOfAssertion(db, companyId, facts.id, facts.notOnOrAfter))) {
    throw new SsoRefusal(SsoErrorCode.assertionInvalid, 'the assertion was used before');
  }
  // Only the tenant's own work accounts: Entra names the home tenant of guests and personal (live.com) accounts.
  const tenant = facts.one(SamlClaim.tenantId);
  const provider = facts.one(SamlClaim.identityProvider);
  if (tenant !== null ? tenant.toLowerCase() !== config.tenantId : config.tenantId !== config.idpEntityId) {
    throw new SsoRefusal(SsoErrorCode.accountNotAllowed, 'the account belongs to another tenant');
  }
  if (provider !== null && provider !== config.idpEntityId) {
    throw new SsoRefusal(SsoErrorCode.accountNotAllowed, 'guest and personal accounts cannot sign in');
  }
  if (!config.loginEnabled) throw new SsoRefusal(SsoErrorCode.loginDisabled, "the company's Azure AD login is off");
  if (!account || !account.synced) throw new SsoRefusal(SsoErrorCode.unavailable, 'no account of the company is synced with this email');
  if (!account.enabled) throw new SsoRefusal(SsoErrorCode.accountDisabled, 'the account is disabled');
  await db.update(accounts).set({ lastLoginAt: new Date() }).where(eq(accounts.id, account.id));
  return account.id;
}
