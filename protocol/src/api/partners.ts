import Type, { type Static } from 'typebox';
import { IsoDateSchema, UuidSchema } from './common.js';

/**
 * Working with other companies: ISP/MSP collaboration on sites (manual §3.4.5) and merging companies (§3.4.6).
 *
 * Collaboration (region feature `site_collaboration`; the inviter needs site management of the site):
 *   POST   /api/v1/sites/:siteId/collaborations          CollaborationBody → 201 Collaboration (status invited; the
 *                                                        partner account gets a notification and an email)
 *   GET    /api/v1/sites/:siteId/collaborations          → CollaborationsReply
 *   DELETE /api/v1/sites/:siteId/collaborations/:id      → 204 (cancelled: the partner's access ends at once)
 *   GET    /api/v1/collaborations                        → CollaborationsReply (where the caller is the partner)
 *   POST   /api/v1/collaborations/:id/accept             → Collaboration (active: the site is visible to the partner)
 *   POST   /api/v1/collaborations/:id/decline            → Collaboration
 * Refusals (422, the code is the CollaborationRefusal): no installer account with the email, own company's account,
 * another country or region, an ISP account without Manage All Sites or Manage Assigned Sites, an MSP account that
 * is not an Installer Admin, a partner already invited or active on the site; a site status other than
 * NotHandedOver (ISP) or AuthorizedAndMonitoring (MSP) → 409 SITE_STATUS_FORBIDS (at accepting too). The site
 * routes are for the site's own company (a partner gets 403); accept/decline only for the invited account (anyone
 * else 404 COLLABORATION_NOT_FOUND), only while invited (409 COLLABORATION_STATE). An active collaboration makes
 * the site and its devices visible to the partner account, with its own role's permissions; a handover ends ISPs'.
 *
 * Merger (Installer Admin only, region feature `company_merger`):
 *   POST   /api/v1/company/mergers                       MergerBody → 201 Merger (invites another company's Installer Admin)
 *                                                        a precondition not met → 422 with the MergerFailure as the code
 *                                                        (at the final acceptance too: the merger is then stored as
 *                                                        `failed` with that reason, and the reply is that 422)
 *   GET    /api/v1/company/mergers                       → MergersReply (as initiator or invited)
 *   POST   /api/v1/company/mergers/:id/accept            → Merger (completed; or pending, waiting for A, in the
 *                                                        platform's flow once B has accepted)
 *   POST   /api/v1/company/mergers/:id/reject            → Merger
 *   GET    /api/v1/vendor/mergers                        → MergersReply (the newest 200 of every company)
 *   POST   /api/v1/vendor/mergers                        VendorMergerBody → 201 Merger (the platform merges B into A:
 *                                                        B accepts first, then A; completes when both have)
 * Only the side whose answer is awaited may accept or reject (409 MERGER_STATE otherwise; 404 MERGER_NOT_FOUND
 * for a company that is not a party). A company with a merger waiting for its answer cannot be invited again (409).
 * HC_LINKED is not checked until customer accounts exist.
 */

export const CollaborationType = { isp: 'isp', msp: 'msp' } as const;
export type CollaborationType = (typeof CollaborationType)[keyof typeof CollaborationType];
export const CollaborationStatus = { invited: 'invited', active: 'active', declined: 'declined', cancelled: 'cancelled', ended: 'ended' } as const;
export type CollaborationStatus = (typeof CollaborationStatus)[keyof typeof CollaborationStatus];

export const CollaborationRefusal = {
  ownCompany: 'OWN_COMPANY_ACCOUNT',
  regionMismatch: 'REGION_MISMATCH',
  ispWithoutSitePermission: 'ISP_WITHOUT_SITE_PERMISSION',
  mspNotInstallerAdmin: 'MSP_NOT_INSTALLER_ADMIN',
  /** No installer account with that email. */
  unknownAccount: 'UNKNOWN_ACCOUNT',
  /** The same partner already collaborates (or is invited) on the site. */
  alreadyCollaborating: 'ALREADY_COLLABORATING',
} as const;
export type CollaborationRefusal = (typeof CollaborationRefusal)[keyof typeof CollaborationRefusal];

export const MergerFailure = {
  hasDevices: 'HAS_DEVICES',
  hasHandedOverSites: 'HAS_HANDED_OVER_SITES',
  hcLinked: 'HC_LINKED',
  activeValueAddedServices: 'ACTIVE_VAS',
  channelPartner: 'CHANNEL_PARTNER',
  inArcList: 'IN_ARC_LIST',
  regionMismatch: 'REGION_MISMATCH',
  /** Not another company's Installer Admin (an employee, the own company, the vendor). */
  notEligibleAccount: 'NOT_ELIGIBLE_ACCOUNT',
} as const;
export type MergerFailure = (typeof MergerFailure)[keyof typeof MergerFailure];
export const MergerStatus = { pending: 'pending', rejected: 'rejected', failed: 'failed', completed: 'completed' } as const;
export type MergerStatus = (typeof MergerStatus)[keyof typeof MergerStatus];

export const PartnerErrorCode = {
  collaborationNotFound: 'COLLABORATION_NOT_FOUND',
  /** Accepting or cancelling in a state that does not allow it. */
  collaborationState: 'COLLABORATION_STATE',
  mergerNotFound: 'MERGER_NOT_FOUND',
  mergerState: 'MERGER_STATE',
} as const;
export type PartnerErrorCode = (typeof PartnerErrorCode)[keyof typeof PartnerErrorCode];

export const CollaborationBodySchema = Type.Object(
  {
    type: Type.Union([Type.Literal('isp'), Type.Literal('msp')]),
    /** The partner's account: an ISP's installer or Installer Admin, an MSP's Installer Admin. */
    partnerEmail: Type.String({ format: 'email', maxLength: 254 }),
  },
  { additionalProperties: false },
);
export type CollaborationBody = Static<typeof CollaborationBodySchema>;
export const CollaborationSchema = Type.Object({
  id: UuidSchema,
  siteId: UuidSchema,
  siteName: Type.String(),
  type: Type.Union([Type.Literal('isp'), Type.Literal('msp')]),
  status: Type.String(),
  ownerCompanyId: UuidSchema,
  ownerCompanyName: Type.String(),
  partnerCompanyId: UuidSchema,
  partnerCompanyName: Type.String(),
  partnerAccountId: UuidSchema,
  partnerEmail: Type.String(),
  createdAt: IsoDateSchema,
  decidedAt: Type.Union([IsoDateSchema, Type.Null()]),
});
export type Collaboration = Static<typeof CollaborationSchema>;
export const CollaborationsReplySchema = Type.Object({ items: Type.Array(CollaborationSchema) });

export const MergerBodySchema = Type.Object({ invitedAdminEmail: Type.String({ format: 'email', maxLength: 254 }) }, { additionalProperties: false });
export const VendorMergerBodySchema = Type.Object(
  { initiatorCompanyId: UuidSchema, invitedCompanyId: UuidSchema },
  { additionalProperties: false },
);
export const MergerSchema = Type.Object({
  id: UuidSchema,
  initiatedBy: Type.Union([Type.Literal('company'), Type.Literal('platform')]),
  initiatorCompanyId: UuidSchema,
  initiatorCompanyName: Type.String(),
  initiatorEmail: Type.String(),
  invitedCompanyId: Type.Union([UuidSchema, Type.Null()]),
  invitedCompanyName: Type.String(),
  invitedEmail: Type.String(),
  initiatorAccepted: Type.Boolean(),
  invitedAccepted: Type.Boolean(),
  status: Type.String(),
  failureReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: IsoDateSchema,
  decidedAt: Type.Union([IsoDateSchema, Type.Null()]),
});
export type Merger = Static<typeof MergerSchema>;
export const MergersReplySchema = Type.Object({ items: Type.Array(MergerSchema) });
