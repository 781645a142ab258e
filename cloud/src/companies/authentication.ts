import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import {
  AccountRole,
  AuthenticationStatus,
  AuthenticationSubmitBodySchema,
  CompanyAuthenticationSchema,
  CompanyErrorCode,
  ErrorCode,
  type AuthenticationField,
  type AuthenticationSubmitBody,
  type CompanyAuthentication,
} from '@vigil/protocol/api';
import { requireAuth, requireInstallerAdmin } from '../auth/plugin.js';
import type { Tx } from '../db/client.js';
import { companies, companyAuthentications } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { accountsWithRole, notifyAccounts } from '../notifications/notify.js';

/**
 * The authentication form. The manual says only that the required information varies by country or region; these
 * fields are this platform's design: what any company registry knows, plus the tax or registry number a country's
 * companies are known by.
 */
const COMMON_FIELDS: readonly AuthenticationField[] = [
  { key: 'legalName', label: 'Legal company name', required: true },
  { key: 'registrationNumber', label: 'Company registration number', required: true },
  { key: 'address', label: 'Registered address', required: true },
  { key: 'contactPhone', label: 'Contact phone number', required: true },
  { key: 'website', label: 'Website', required: false },
];
const REGION_FIELDS: Readonly<Record<string, readonly AuthenticationField[]>> = {
  GB: [{ key: 'vatNumber', label: 'VAT registration number', required: true }],
  DE: [{ key: 'handelsregister', label: 'Handelsregister entry (court and HRB number)', required: true }],
  US: [{ key: 'ein', label: 'Employer Identification Number (EIN)', required: true }],
};

export function authenticationForm(countryCode: string): AuthenticationField[] {
  return [...COMMON_FIELDS, ...(REGION_FIELDS[countryCode] ?? [])];
}

type Company = typeof companies.$inferSelect;
type Application = typeof companyAuthentications.$inferSelect;

export function authenticationView(company: Pick<Company, 'id' | 'countryCode' | 'authStatus'>, application: Application | undefined): CompanyAuthentication {
  return {
    companyId: company.id,
    status: company.authStatus as CompanyAuthentication['status'],
    fields: application?.fields ?? {},
    form: authenticationForm(company.countryCode),
    comment: application?.comment ?? '',
    submittedAt: application?.submittedAt.toISOString() ?? null,
    reviewedAt: application?.reviewedAt?.toISOString() ?? null,
  };
}

/** The company (locked for the rest of the transaction) and its application, if it has sent one. */
export async function lockedApplication(tx: Tx, companyId: string) {
  const [company] = await tx.select().from(companies).where(eq(companies.id, companyId)).for('update');
  if (!company) throw new AppError(404, CompanyErrorCode.companyNotFound, 'Company not found.');
  const [application] = await tx.select().from(companyAuthentications).where(eq(companyAuthentications.companyId, companyId));
  return { company, application };
}

/** The fields as the form wants them (trimmed, empty optional ones left out); refuses unknown and missing ones. */
function checkedFields(form: readonly AuthenticationField[], given: Record<string, string>): Record<string, string> {
  const known = new Set(form.map((f) => f.key));
  const unknown = Object.keys(given).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new AppError(422, ErrorCode.validationFailed, `The authentication form of your country or region has no field ${unknown.join(', ')}.`);
  }
  const fields: Record<string, string> = {};
  for (const f of form) {
    const value = given[f.key]?.trim() ?? '';
    if (value !== '') fields[f.key] = value;
  }
  const missing = form.filter((f) => f.required && fields[f.key] === undefined);
  if (missing.length > 0) {
    throw new AppError(422, CompanyErrorCode.authenticationFieldsMissing, `Fill in the required fields: ${missing.map((f) => f.label).join(', ')}.`);
  }
  return fields;
}

/**
 * Company authentication (manual §1.3.2): the Installer Admin sends the form of the company's region, the platform
 * operator reviews it; while it is pending or once approved it cannot be sent again, after a rejection it can.
 */
export async function authenticationRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.get('/company/authentication', { schema: { response: { 200: CompanyAuthenticationSchema } } }, async (request) => {
    const { companyId } = requireAuth(request);
    const [company] = await ctx.db.select().from(companies).where(eq(companies.id, companyId));
    if (!company) throw new AppError(404, CompanyErrorCode.companyNotFound, 'Company not found.');
    const [application] = await ctx.db.select().from(companyAuthentications).where(eq(companyAuthentications.companyId, companyId));
    return authenticationView(company, application);
  });

  app.put(
    '/company/authentication',
    {
      schema: { body: AuthenticationSubmitBodySchema, response: { 200: CompanyAuthenticationSchema } },
      preHandler: requireInstallerAdmin,
      config: { oplog: 'Submit Company Authentication' },
    },
    async (request) => {
      const { companyId } = requireAuth(request);
      const body = request.body as AuthenticationSubmitBody;
      return ctx.db.transaction(async (tx) => {
        const { company } = await lockedApplication(tx, companyId);
        request.oplog.target = company.name;
        if (company.authStatus === AuthenticationStatus.pending || company.authStatus === AuthenticationStatus.approved) {
          const why = company.authStatus === AuthenticationStatus.pending ? 'is waiting for review' : 'is authenticated already';
          throw new AppError(409, CompanyErrorCode.authenticationState, `Your company ${why}: the form cannot be sent now.`);
        }
        const fields = checkedFields(authenticationForm(company.countryCode), body.fields);
        const submittedAt = new Date();
        const values = { fields, comment: '', submittedAt, reviewedAt: null, reviewerId: null };
        const [application] = await tx
          .insert(companyAuthentications)
          .values({ companyId, ...values })
          .onConflictDoUpdate({ target: companyAuthentications.companyId, set: values })
          .returning();
        const [updated] = await tx.update(companies).set({ authStatus: AuthenticationStatus.pending }).where(eq(companies.id, companyId)).returning();
        const reviewers = await accountsWithRole(tx, AccountRole.vendorAdmin);
        await notifyAccounts(
          tx,
          reviewers.map((r) => r.id),
          { kind: 'company.authentication', title: 'Company authentication to review', body: `${company.name} (${company.countryCode}) asks to be authenticated.`, data: { companyId } },
        );
        return authenticationView(updated!, application);
      });
    },
  );
}
