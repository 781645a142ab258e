import { IdParams, SiteParams } from '../http/params.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { and, eq, inArray, sql } from 'drizzle-orm';
import Type from 'typebox';
import {
  AccountRole,
  CollaborationBodySchema,
  CollaborationRefusal,
  CollaborationSchema,
  CollaborationsReplySchema,
  CollaborationStatus,
  CollaborationType,
  ErrorCode,
  PartnerErrorCode,
  Permission,
  RegionFeature,
  SiteOperation,
  type CollaborationBody,
} from '@vigil/protocol/api';
import { manageSites, requireAuth } from '../auth/plugin.js';
import { permissionsOf } from '../auth/sessions.js';
import { accounts, companies, roles, siteCollaborations, sites } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { accountsWithRole, notifyAccounts, tellAccounts } from '../notifications/notify.js';
import { requireFeature } from '../regions/features.js';
import { requireOwnCompanySite, siteOfRequest } from '../sites/access.js';
import { lockSite, requireSiteOperation } from '../sites/gate.js';
import type { Auth } from '../types.js';
import { collaborationById, listCollaborations, OPEN_STATUSES, STATUS_FOR_TYPE } from './collaborations.js';

const SiteCollaborationParams = Type.Object({ siteId: Type.String({ format: 'uuid' }), id: Type.String({ format: 'uuid' }) });

const TYPE_LABEL: Record<CollaborationType, string> = { isp: 'installation service partner (ISP)', msp: 'maintenance service partner (MSP)' };

const refuse = (code: CollaborationRefusal, message: string) => new AppError(422, code, message);
const notFound = () => new AppError(404, PartnerErrorCode.collaborationNotFound, 'Collaboration not found.');

/** Table 3-12 allows Site Collaboration before handover and once authorized; the partner's type picks which of the two. */
function checkSiteStatus(type: CollaborationType, site: { name: string; status: string }): void {
  requireSiteOperation(site, SiteOperation.collaborate);
  const { status } = site;
  if (status !== STATUS_FOR_TYPE[type]) {
    throw new AppError(
      409,
      ErrorCode.siteStatusForbids,
      type === CollaborationType.isp
        ? `An ISP collaborates only before handover: the site's status is ${status}, not NotHandedOver.`
        : `An MSP collaborates only once the site is handed over and authorized: the site's status is ${status}, not AuthorizedAndMonitoring.`,
    );
  }
}

/**
 * Collaboration with an ISP or MSP on a site (manual §3.4.5). The owner company invites one partner account; once
 * it accepts, `siteScope` lets that account see the site and work on its devices with its own role's permissions.
 */
export async function collaborationRoutes(app: FastifyInstance) {
  const { ctx } = app;

  /** A site of the caller's own company: a partner working on the site does not manage its partners. */
  async function ownSite(request: FastifyRequest) {
    const auth = requireAuth(request);
    const site = await siteOfRequest(ctx.db, request);
    requireOwnCompanySite(auth, site);
    return { auth, site };
  }

  /** The partner account the email names, with what the refusals need to know of it. */
  async function partnerByEmail(email: string) {
    const [row] = await ctx.db
      .select({ account: accounts, company: companies, rolePermissions: roles.permissions })
      .from(accounts)
      .innerJoin(companies, eq(companies.id, accounts.companyId))
      .leftJoin(roles, eq(roles.id, accounts.roleId))
      .where(sql`lower(${accounts.email}) = ${email.trim().toLowerCase()}`);
    // The vendor's staff are no installers: they are never partners.
    // The platform's own accounts and customers are not installers: as unknown as an email nobody has.
    if (!row || row.account.role === 'vendor_admin' || row.company.type === 'vendor' || row.account.role === 'customer') {
      throw refuse(CollaborationRefusal.unknownAccount, `No installer account has the email ${email}.`);
    }
    return row;
  }

  app.post(
    '/sites/:siteId/collaborations',
    {
      schema: { params: SiteParams, body: CollaborationBodySchema, response: { 201: CollaborationSchema } },
      preHandler: manageSites,
      config: { oplog: 'Invite Site Collaborator' },
    },
    async (request, reply) => {
      const { auth, site } = await ownSite(request);
      const body = request.body as CollaborationBody;
      request.oplog.target = body.partnerEmail;
      request.oplog.detail = TYPE_LABEL[body.type];
      await requireFeature(ctx.db, auth, RegionFeature.siteCollaboration);
      checkSiteStatus(body.type, site);

      const partner = await partnerByEmail(body.partnerEmail);
      const [own] = await ctx.db.select({ countryCode: companies.countryCode, name: companies.name }).from(companies).where(eq(companies.id, auth.companyId));
      if (partner.company.id === auth.companyId) {
        throw refuse(CollaborationRefusal.ownCompany, `${body.partnerEmail} is an account of your own company: invite another company's account.`);
      }
      // Same country or region, so the partner's region has site collaboration too: the inviter's was checked above.
      if (partner.company.countryCode !== own!.countryCode) {
        throw refuse(
          CollaborationRefusal.regionMismatch,
          `${body.partnerEmail} belongs to a company in ${partner.company.countryCode}; a partner must be in your country or region (${own!.countryCode}).`,
        );
      }
      if (body.type === CollaborationType.isp) {
        const perms = permissionsOf(partner.account.role as Auth['role'], partner.account.limited, partner.rolePermissions);
        if (!perms.includes(Permission.siteManageAll) && !perms.includes(Permission.siteManageAssigned)) {
          throw refuse(
            CollaborationRefusal.ispWithoutSitePermission,
            `${body.partnerEmail} has neither Manage All Sites nor Manage Assigned Sites: an ISP account needs one of them.`,
          );
        }
      } else if (partner.account.role !== 'installer_admin') {
        throw refuse(CollaborationRefusal.mspNotInstallerAdmin, `${body.partnerEmail} is not an Installer Admin: invite the MSP company's Installer Admin.`);
      }

      const id = await ctx.db.transaction(async (tx) => {
        // The site's row serializes invitations of the same partner.
        await lockSite(tx, site.id);
        const [open] = await tx
          .select({ id: siteCollaborations.id })
          .from(siteCollaborations)
          .where(and(eq(siteCollaborations.siteId, site.id), eq(siteCollaborations.partnerAccountId, partner.account.id), inArray(siteCollaborations.status, [...OPEN_STATUSES])));
        if (open) throw refuse(CollaborationRefusal.alreadyCollaborating, `${body.partnerEmail} is already invited to or collaborating on this site.`);
        const [row] = await tx
          .insert(siteCollaborations)
          .values({ siteId: site.id, ownerCompanyId: auth.companyId, partnerCompanyId: partner.company.id, partnerAccountId: partner.account.id, type: body.type, invitedBy: auth.accountId })
          .returning({ id: siteCollaborations.id });
        const what = `${own!.name} invites you to collaborate on the site "${site.name}" as its ${TYPE_LABEL[body.type]}.`;
        await tellAccounts(
          tx,
          ctx.mail,
          [partner.account],
          { kind: 'collaboration.invitation', title: 'Site collaboration invitation', body: what, data: { collaborationId: row!.id, siteId: site.id } },
          () => ({
            subject: `${own!.name} invites you to collaborate on a site`,
            text: `${what}\n\nAccept or decline the invitation in the portal: ${ctx.publicUrl}/collaborations\n`,
          }),
        );
        return row!.id;
      });
      return reply.status(201).send(await collaborationById(ctx.db, id));
    },
  );

  app.get(
    '/sites/:siteId/collaborations',
    { schema: { params: SiteParams, response: { 200: CollaborationsReplySchema } }, preHandler: manageSites },
    async (request) => {
      const { site } = await ownSite(request);
      return { items: await listCollaborations(ctx.db, eq(siteCollaborations.siteId, site.id)) };
    },
  );

  app.delete(
    '/sites/:siteId/collaborations/:id',
    { schema: { params: SiteCollaborationParams, response: { 204: Type.Null() } }, preHandler: manageSites, config: { oplog: 'Cancel Site Collaboration' } },
    async (request, reply) => {
      const { site } = await ownSite(request);
      const { id } = request.params as { id: string };
      await ctx.db.transaction(async (tx) => {
        const [row] = await tx
          .select({ c: siteCollaborations, email: accounts.email })
          .from(siteCollaborations)
          .innerJoin(accounts, eq(accounts.id, siteCollaborations.partnerAccountId))
          .where(and(eq(siteCollaborations.id, id), eq(siteCollaborations.siteId, site.id)))
          .for('update', { of: siteCollaborations });
        if (!row) throw notFound();
        request.oplog.target = row.email;
        if (!OPEN_STATUSES.includes(row.c.status as CollaborationStatus)) {
          throw new AppError(409, PartnerErrorCode.collaborationState, `This collaboration is ${row.c.status} already.`);
        }
        await tx.update(siteCollaborations).set({ status: CollaborationStatus.cancelled, decidedAt: sql`now()` }).where(eq(siteCollaborations.id, id));
        await notifyAccounts(tx, [row.c.partnerAccountId], {
          kind: 'collaboration.cancelled',
          title: 'Site collaboration cancelled',
          body: `Your collaboration on the site "${site.name}" has been cancelled by its company.`,
          data: { collaborationId: id, siteId: site.id },
        });
      });
      return reply.status(204).send();
    },
  );

  // ---- the partner's side ---------------------------------------------------------------------------

  app.get('/collaborations', { schema: { response: { 200: CollaborationsReplySchema } } }, async (request) => ({
    items: await listCollaborations(ctx.db, eq(siteCollaborations.partnerAccountId, requireAuth(request).accountId)),
  }));

  /** The invited account answers; anyone else gets "not found". */
  async function decide(request: FastifyRequest, accept: boolean) {
    const auth = requireAuth(request);
    const { id } = request.params as { id: string };
    await ctx.db.transaction(async (tx) => {
      const [row] = await tx
        .select({ c: siteCollaborations, site: sites })
        .from(siteCollaborations)
        .innerJoin(sites, eq(sites.id, siteCollaborations.siteId))
        .where(and(eq(siteCollaborations.id, id), eq(siteCollaborations.partnerAccountId, auth.accountId)))
        .for('update', { of: siteCollaborations });
      if (!row) throw notFound();
      request.oplog.siteId = row.site.id;
      request.oplog.siteName = row.site.name;
      request.oplog.target = row.site.name;
      if (row.c.status !== CollaborationStatus.invited) {
        throw new AppError(409, PartnerErrorCode.collaborationState, `This invitation is ${row.c.status}: there is nothing to answer.`);
      }
      // The site may have moved on since the invitation (handed over, say): the same gate as inviting.
      if (accept) checkSiteStatus(row.c.type as CollaborationType, row.site);
      const status = accept ? CollaborationStatus.active : CollaborationStatus.declined;
      await tx.update(siteCollaborations).set({ status, decidedAt: sql`now()` }).where(eq(siteCollaborations.id, id));

      const inviter = row.c.invitedBy
        ? await tx.select({ id: accounts.id, email: accounts.email, name: accounts.name }).from(accounts).where(eq(accounts.id, row.c.invitedBy))
        : await accountsWithRole(tx, AccountRole.installerAdmin, row.c.ownerCompanyId);
      const verb = accept ? 'accepted' : 'declined';
      const text = `${auth.email} has ${verb} your invitation to collaborate on the site "${row.site.name}".`;
      const title = `Site collaboration ${verb}`;
      await tellAccounts(tx, ctx.mail, inviter, { kind: `collaboration.${verb}`, title, body: text, data: { collaborationId: id, siteId: row.site.id } }, () => ({
        subject: title,
        text: `${text}\n`,
      }));
    });
    return collaborationById(ctx.db, id);
  }

  app.post(
    '/collaborations/:id/accept',
    { schema: { params: IdParams, response: { 200: CollaborationSchema } }, config: { oplog: 'Accept Site Collaboration' } },
    async (request) => decide(request, true),
  );
  app.post(
    '/collaborations/:id/decline',
    { schema: { params: IdParams, response: { 200: CollaborationSchema } }, config: { oplog: 'Decline Site Collaboration' } },
    async (request) => decide(request, false),
  );
}
