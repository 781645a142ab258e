import { and, eq, gt, lt, sql } from 'drizzle-orm';
import { SAML, ValidateInResponseTo, type CacheItem, type CacheProvider, type Profile } from '@node-saml/node-saml';
import type { Db } from '../db/client.js';
import type { ssoConfigs } from '../db/schema.js';
import { samlIds } from '../db/schema.js';

/** An AuthnRequest must be answered within this time. */
export const REQUEST_TTL_MS = 10 * 60_000;
/** Clocks of the cloud and the identity provider may differ this much. */
const CLOCK_SKEW_MS = 2 * 60_000;
export const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

export type SsoConfigRow = typeof ssoConfigs.$inferSelect;

/** What the admin enters in the identity provider, and where it sends the provisioning. */
export function spValues(publicUrl: string, companyId: string) {
  const base = `${publicUrl}/api/v1/sso/saml/${companyId}`;
  return { entityId: `${base}/metadata`, replyUrl: `${base}/acs`, scimTenantUrl: `${publicUrl}/scim/v2` };
}

/**
 * The AuthnRequests the cloud sent, in the database so that the answer may reach any cloud node. Scoped to one
 * company: a request made for one company's sign-in is no answer for another's.
 */
export class SamlRequestStore implements CacheProvider {
  constructor(
    private readonly db: Db,
    private readonly companyId: string,
  ) {}

  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    await this.db.delete(samlIds).where(lt(samlIds.expiresAt, sql`now()`));
    await this.db.insert(samlIds).values({ id: key, kind: 'request', companyId: this.companyId, value, expiresAt: new Date(Date.now() + REQUEST_TTL_MS) });
    return { value, createdAt: Date.now() };
  }

  async getAsync(key: string): Promise<string | null> {
    const [row] = await this.db
      .select({ value: samlIds.value })
      .from(samlIds)
      .where(and(eq(samlIds.id, key), eq(samlIds.kind, 'request'), eq(samlIds.companyId, this.companyId), gt(samlIds.expiresAt, sql`now()`)));
    return row?.value ?? null;
  }

  async removeAsync(key: string | null): Promise<string | null> {
    if (!key) return null;
    const gone = await this.db
      .delete(samlIds)
      .where(and(eq(samlIds.id, key), eq(samlIds.kind, 'request'), eq(samlIds.companyId, this.companyId)))
      .returning({ id: samlIds.id });
    return gone.length > 0 ? key : null;
  }
}

/** The service provider for one company: its own entity ID and reply URL, its identity provider's certificates. */
export function serviceProvider(db: Db, publicUrl: string, config: SsoConfigRow): SAML {
  const sp = spValues(publicUrl, config.companyId);
  return new SAML({
    entryPoint: config.idpSsoUrl,
    issuer: sp.entityId,
    audience: sp.entityId,
    callbackUrl: sp.replyUrl,
    idpCert: config.idpCerts,
    idpIssuer: config.idpEntityId,
    identifierFormat: EMAIL_FORMAT,
    // Entra signs the assertion by default, not the whole response.
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: REQUEST_TTL_MS,
    acceptedClockSkewMs: CLOCK_SKEW_MS,
    cacheProvider: new SamlRequestStore(db, config.companyId),
    disableRequestedAuthnContext: true,
    signatureAlgorithm: 'sha256',
  });
}

/**
 * Records an accepted assertion's ID; false when it was seen before (a replayed response). The insert is the check,
 * so two nodes receiving the same response at once cannot both accept it.
 */
export async function firstUseOfAssertion(db: Db, companyId: string, assertionId: string, notOnOrAfter: Date): Promise<boolean> {
  const rows = await db
    .insert(samlIds)
    .values({ id: `assertion:${assertionId}`, kind: 'assertion', companyId, expiresAt: new Date(notOnOrAfter.getTime() + CLOCK_SKEW_MS) })
    .onConflictDoNothing()
    .returning({ id: samlIds.id });
  return rows.length > 0;
}

/** The parts of a validated assertion the sign-in needs. */
export function assertionFacts(profile: Profile) {
  const attrs = (profile.attributes ?? {}) as Record<string, unknown>;
  const one = (name: string): string | null => {
    const v = attrs[name];
    const first = Array.isArray(v) ? v[0] : v;
    return typeof first === 'string' ? first : null;
  };
  type Attrs<T> = { $?: T }[] | undefined;
  const assertion = (profile.getAssertion?.() ?? {}) as {
    Assertion?: {
      $?: { ID?: string };
      Conditions?: Attrs<{ NotOnOrAfter?: string }>;
      Subject?: { SubjectConfirmation?: { SubjectConfirmationData?: Attrs<{ Recipient?: string }> }[] }[];
    };
  };
  const notOnOrAfter = assertion.Assertion?.Conditions?.[0]?.$?.NotOnOrAfter;
  const recipients = (assertion.Assertion?.Subject?.[0]?.SubjectConfirmation ?? []).flatMap((c) => (c.SubjectConfirmationData ?? []).map((d) => d.$?.Recipient));
  return {
    id: assertion.Assertion?.$?.ID ?? null,
    issuer: profile.issuer,
    /** Where the identity provider meant the assertion to go (the bearer confirmation's Recipient). */
    recipients: recipients.filter((r): r is string => typeof r === 'string'),
    notOnOrAfter: notOnOrAfter ? new Date(notOnOrAfter) : new Date(Date.now() + REQUEST_TTL_MS),
    one,
  };
}
