import type { FastifyInstance } from 'fastify';
import { asc, eq } from 'drizzle-orm';
import Type from 'typebox';
import {
  AccountRole,
  AuthenticationRejectBodySchema,
  AuthenticationStatus,
  CompanyAuthenticationSchema,
  CompanyErrorCode,
  VendorAuthenticationsReplySchema,
} from '@vigil/protocol/api';
import { requireAuth, requireVendorAdmin } from '../auth/plugin.js';
import { authenticationView, lockedApplication } from '../companies/authentication.js';
import { companies, companyAuthentications } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { accountsWithRole, tellAccounts } from '../notifications/notify.js';
import { regionRoutes } from '../regions/routes.js';

const StatusQuery = Type.Object(
  { status: Type.Optional(Type.Union(Object.values(AuthenticationStatus).map((s) => Type.Literal(s)))) },
  { additionalProperties: false },
);
const CompanyParams = Type.Object({ companyId: Type.String({ format: 'uuid' }) });

const Decision = { approve: 'approve', reject: 'reject' } as const;
type Decision = (typeof Decision)[keyof typeof Decision];

/** The platform operator's pages: reviewing companies' authentications, and the region matrix. */
export async function vendorRoutes(app: FastifyInstance) {
  const { ctx } = app;
  // Every route of this plugin is the operator's alone: installers are refused before their input is even read.
  app.addHook('onRequest', requireVendorAdmin);

  app.get(
    '/vendor/authentications',
    { schema: { querystring: StatusQuery, response: { 200: VendorAuthenticationsReplySchema } } },
    async (request) => {
      const { status } = request.query as { status?: AuthenticationStatus };
      const rows = await ctx.db
        .select({ company: companies, application: companyAuthentications })
        .from(companyAuthentications)
        .innerJoin(companies, eq(companies.id, companyAuthentications.companyId))
        .where(status === undefined ? undefined : eq(companies.authStatus, status))
        // The longest waiting first.
        .orderBy(asc(companyAuthentications.submittedAt));
      return {
        items: rows.map(({ company, application }) => ({
          ...authenticationView(company, application),
          companyName: company.name,
          countryCode: company.countryCode,
          companyType: company.type,
        })),
      };
    },
  );

  function review(decision: Decision) {
    const approve = decision === Decision.approve;
    return app.post(
      `/vendor/authentications/:companyId/${decision}`,
      {
        schema: { params: CompanyParams, ...(approve ? {} : { body: AuthenticationRejectBodySchema }), response: { 200: CompanyAuthenticationSchema } },
        config: { oplog: approve ? 'Approve Company Authentication' : 'Reject Company Authentication' },
      },
      async (request) => {
        const reviewer = requireAuth(request);
        const { companyId } = request.params as { companyId: string };
        const comment = approve ? '' : (request.body as { comment: string }).comment.trim();
        return ctx.db.transaction(async (tx) => {
          const { company, application } = await lockedApplication(tx, companyId);
          if (!application) throw new AppError(404, CompanyErrorCode.companyNotFound, 'This company has not asked to be authenticated.');
          request.oplog.target = company.name;
          if (company.authStatus !== AuthenticationStatus.pending) {
            throw new AppError(409, CompanyErrorCode.authenticationState, `The authentication of ${company.name} is ${company.authStatus}, not waiting for review.`);
          }
          const status = approve ? AuthenticationStatus.approved : AuthenticationStatus.rejected;
          const [updated] = await tx.update(companies).set({ authStatus: status }).where(eq(companies.id, companyId)).returning();
          const [reviewed] = await tx
            .update(companyAuthentications)
            .set({ comment, reviewedAt: new Date(), reviewerId: reviewer.accountId })
            .where(eq(companyAuthentications.companyId, companyId))
            .returning();
          if (!approve) request.oplog.detail = comment;
          const link = `${ctx.publicUrl}/company`;
          const title = approve ? 'Company authenticated' : 'Company authentication rejected';
          const body = approve
            ? `${company.name} is now an authenticated company: its value-added services can be bought.`
            : `The authentication of ${company.name} was rejected. Reason: ${/[.!?]$/.test(comment) ? comment : `${comment}.`} Correct the form and send it again.`;
          const admins = await accountsWithRole(tx, AccountRole.installerAdmin, companyId);
          await tellAccounts(tx, ctx.mail, admins, { kind: 'company.authentication', title, body, data: { companyId } }, (admin) => ({
            subject: `Vigil: ${title.toLowerCase()}`,
            text: `Hello ${admin.name},\n\n${body}\n\n${link}\n`,
            kind: `company.authentication.${status}`,
          }));
          return authenticationView(updated!, reviewed);
        });
      },
    );
  }
  review(Decision.approve);
  review(Decision.reject);

  await app.register(regionRoutes);
}
