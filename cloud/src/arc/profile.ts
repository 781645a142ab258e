import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { and, arrayContains, asc, eq, isNotNull } from 'drizzle-orm';
import {
  ApplyArcBodySchema,
  ArcCredentialsReplySchema,
  ArcErrorCode,
  ArcListSchema,
  ArcProfileSchema,
  ArcProfileStatus,
  Permission,
  type ApplyArcBody,
  type ArcListItem,
  type ArcProfile,
} from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { arcProfiles, companies } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { requireAuth, requirePermission } from '../auth/plugin.js';
import { randomToken, sha256, tokenMatches } from '../security/secrets.js';
import { arcSide, callerCompany, installerSide } from './access.js';

type ProfileRow = typeof arcProfiles.$inferSelect;

function profileView(p: ProfileRow | undefined): ArcProfile {
  if (!p) return { status: ArcProfileStatus.notApplied, arcId: null, contactEmail: '', description: '', regions: [], keyIssuedAt: null, configCompletedAt: null };
  return {
    status: p.configCompletedAt ? ArcProfileStatus.configCompleted : ArcProfileStatus.credentialsIssued,
    arcId: p.arcId,
    contactEmail: p.contactEmail,
    description: p.description,
    regions: p.regions,
    keyIssuedAt: p.keyIssuedAt.toISOString(),
    configCompletedAt: p.configCompletedAt?.toISOString() ?? null,
  };
}

/** A new ARC key: random, so a fast hash protects it at rest. Answers carrying it are never cached. */
function newKey() {
  const key = randomToken(32);
  return { key, keyHash: sha256(key), keyIssuedAt: new Date() };
}

/** ARCs on the list; with `countryCode`, those an installer there may choose (they serve that country/region). */
export async function listedArcs(db: Db, filter: { countryCode?: string; arcCompanyId?: string }): Promise<ArcListItem[]> {
  const rows = await db
    .select({ company: companies, profile: arcProfiles })
    .from(arcProfiles)
    .innerJoin(companies, eq(companies.id, arcProfiles.companyId))
    .where(
      and(
        isNotNull(arcProfiles.configCompletedAt),
        filter.countryCode ? arrayContains(arcProfiles.regions, [filter.countryCode]) : undefined,
        filter.arcCompanyId ? eq(arcProfiles.companyId, filter.arcCompanyId) : undefined,
      ),
    )
    .orderBy(asc(companies.name), asc(companies.id));
  return rows.map(({ company, profile }) => ({
    id: company.id,
    name: company.name,
    countryCode: company.countryCode,
    regions: profile.regions,
    contactEmail: profile.contactEmail,
    description: profile.description,
  }));
}

/** The ARC whose alarm software presents this ARC ID and key, or null. A regenerated key replaces the old one. */
export async function verifyArcKey(db: Db, arcId: string, key: string): Promise<string | null> {
  const [profile] = await db.select().from(arcProfiles).where(eq(arcProfiles.arcId, arcId));
  return profile && tokenMatches(key, profile.keyHash) ? profile.companyId : null;
}

export async function arcProfileRoutes(app: FastifyInstance) {
  const { ctx } = app;
  const arcOnly = arcSide(ctx.db);
  // The ARC's credentials are company settings: the admin's (who holds account management).
  const admin = [arcOnly, requirePermission(Permission.accountsManage)];

  const load = async (companyId: string) => (await ctx.db.select().from(arcProfiles).where(eq(arcProfiles.companyId, companyId)))[0];

  /** The list installers choose an ARC from. */
  app.get('/arcs', { schema: { response: { 200: ArcListSchema } }, preHandler: installerSide(ctx.db) }, async (request) => {
    const company = await callerCompany(ctx.db, requireAuth(request));
    return { items: await listedArcs(ctx.db, { countryCode: company.countryCode }) };
  });

  app.get('/arc/profile', { schema: { response: { 200: ArcProfileSchema } }, preHandler: arcOnly }, async (request) =>
    profileView(await load(requireAuth(request).companyId)),
  );

  /** "Apply Now" → "Submit Application": the ARC ID and key are issued at once; the key is shown only here. */
  app.post(
    '/arc/profile',
    { schema: { body: ApplyArcBodySchema, response: { 201: ArcCredentialsReplySchema } }, preHandler: admin, config: { oplog: 'Submit Application for Joining as ARC' } },
    async (request, reply) => {
      const company = await callerCompany(ctx.db, requireAuth(request));
      const body = request.body as ApplyArcBody;
      request.oplog.target = company.name;
      const { key, ...credentials } = newKey();
      const [profile] = await ctx.db
        .insert(arcProfiles)
        .values({
          companyId: company.id,
          arcId: `ARC${randomBytes(8).toString('hex').toUpperCase()}`,
          ...credentials,
          contactEmail: body.contactEmail.trim(),
          description: body.description?.trim() ?? '',
          regions: body.regions ?? [company.countryCode],
        })
        .onConflictDoNothing({ target: arcProfiles.companyId })
        .returning();
      if (!profile) throw new AppError(409, ArcErrorCode.alreadyApplied, 'This company has applied already; regenerate the ARC key if it was lost.');
      return reply.status(201).header('cache-control', 'no-store').send({ profile: profileView(profile), arcKey: key });
    },
  );

  /** A new ARC key; the old one stops working at once. */
  app.post(
    '/arc/profile/key',
    { schema: { response: { 200: ArcCredentialsReplySchema } }, preHandler: admin, config: { oplog: 'Regenerate ARC Key' } },
    async (request, reply) => {
      const { key, ...credentials } = newKey();
      const [profile] = await ctx.db.update(arcProfiles).set(credentials).where(eq(arcProfiles.companyId, requireAuth(request).companyId)).returning();
      if (!profile) throw new AppError(409, ArcErrorCode.notApplied, 'Apply to join the ARC list first.');
      request.oplog.target = profile.arcId;
      return reply.header('cache-control', 'no-store').send({ profile: profileView(profile), arcKey: key });
    },
  );

  /** "ARC ID & Key Config Completed": the ARC is on the list from now on. */
  app.post(
    '/arc/profile/config-completed',
    { schema: { response: { 200: ArcProfileSchema } }, preHandler: admin, config: { oplog: 'ARC ID & Key Config Completed' } },
    async (request) => {
      const companyId = requireAuth(request).companyId;
      const current = await load(companyId);
      if (!current) throw new AppError(409, ArcErrorCode.notApplied, 'Apply to join the ARC list first.');
      request.oplog.target = current.arcId;
      if (current.configCompletedAt) return profileView(current);
      const [profile] = await ctx.db.update(arcProfiles).set({ configCompletedAt: new Date() }).where(eq(arcProfiles.companyId, companyId)).returning();
      return profileView(profile);
    },
  );
}
