import Type, { type Static } from 'typebox';
import { IsoDateSchema, literals, UuidSchema } from './common.js';
import { CreateSiteBodySchema } from './sites.js';

/**
 * Organizing a company's sites: site groups (manual §3.3.4), site managers (§3.4.4) and moving devices between
 * sites (§3.3.5).
 *
 * Site groups (site management: Manage All Sites, or Manage Assigned Sites for each site touched):
 *   GET    /api/v1/site-groups                        → SiteGroupsReply (the company's groups, with the sites the caller sees)
 *   POST   /api/v1/site-groups                        SiteGroupBody → 201 SiteGroup
 *   PATCH  /api/v1/site-groups/:id                    SiteGroupBody → SiteGroup
 *   DELETE /api/v1/site-groups/:id                    → 204 (its sites are left ungrouped)
 *   PUT    /api/v1/site-groups/:id/sites              GroupSitesBody → SiteGroup (the sites join the group, leaving any other)
 *   PUT    /api/v1/sites/:siteId/group                SiteGroupAssignBody → SiteGroupAssignment (null: ungrouped)
 * A name is unique in the company, case-insensitively (409 SITE_GROUP_NAME_TAKEN); another company's group is
 * 404 SITE_GROUP_NOT_FOUND. Only personal sites are grouped (422 GROUP_PERSONAL_ONLY), in a status that allows Move
 * to Group (409 SITE_STATUS_FORBIDS for Disbanded). A site is in one group at most: joining one leaves the other.
 * Deleting a group holding sites the caller does not manage → 403 PERMISSION_DENIED.
 *
 * Site managers:
 *   GET    /api/v1/sites/:siteId/managers             → SiteManagersReply
 *   GET    /api/v1/site-managers?siteIds=a,b          → SitesManagersReply (the Site Manager column of the site list)
 *   GET    /api/v1/site-managers/candidates           → ManagerCandidatesReply (Manage All Sites only)
 *   POST   /api/v1/site-managers                      AssignManagersBody → SitesManagersReply (Manage All Sites only)
 *   PATCH  /api/v1/sites/:siteId/managers/:accountId  ManagerValidityBody → SiteManager (Manage All Sites only)
 *   DELETE /api/v1/sites/:siteId/managers/:accountId  → 204 (without Manage All Sites: only oneself)
 * Refusals: 403 PERMISSION_DENIED (above); 409 SITE_STATUS_FORBIDS (Disbanded); 422 MANAGER_NOT_ELIGIBLE (not an
 * enabled installer account of the company), SITE_MANAGER_LIMIT (over 100 per site), LIFETIME_MANAGER_REQUIRED (no
 * Lifetime manager left), MANAGE_ALL_IS_LIFETIME (a holder of Manage All Sites given an expiry), MANAGER_EXPIRY_PAST;
 * 404 SITE_MANAGER_NOT_FOUND. Every assignment, change and removal tells the managers concerned in their
 * Notification Center. An expired assignment gives no access (the site leaves the manager's scope at once).
 *
 * Moving devices (device management on the source site, its status allowing Manage Device):
 *   POST   /api/v1/sites/:siteId/device-moves         DeviceMoveBody → 201 DeviceMove (Pending when the site has an
 *                                                    owner, who approves it; done at once, Approved, otherwise)
 *   GET    /api/v1/sites/:siteId/device-moves         → DeviceMovesReply (moves from or to the site)
 *   GET    /api/v1/sites/:siteId/movable-devices      → MovableDevicesReply (the site's devices: whether each may
 *                                                    move, why not, and whether it holds configuration a move clears)
 *   GET    /api/v1/customer/device-moves              → DeviceMovesReply (the customer's, as Site Owner)
 *   POST   /api/v1/customer/device-moves/:id/approve  → DeviceMove (the devices move now)
 *   POST   /api/v1/customer/device-moves/:id/reject   → DeviceMove
 * Refusals: 422 DEVICE_NOT_P2P (added by IP/domain), TARGET_IS_TENANT_SITE (a Shared target), DIFFERENT_OWNER
 * (the sites' owners differ), SAME_SITE, SITE_CHANNEL_LIMIT, AC_ROUTER_TEAM_SITE; 409 DEVICE_MOVE_PENDING (a device
 * already in a pending move), DEVICE_MOVE_STATE (deciding a move that is not pending), DEVICE_MOVE_STALE (a device
 * left the source site meanwhile); 404 DEVICE_NOT_FOUND (not a device of the source site), SITE_NOT_FOUND,
 * DEVICE_MOVE_NOT_FOUND (not the caller's move to decide). A new target site is created with the source's owner at
 * once; its time zone is fixed from then on. A moved device loses every configuration bound to it: ARC service
 * settings, cloud storage of its channels, sharing with customers and the permissions granted on the old site.
 */

export const SiteAdminErrorCode = {
  siteGroupNotFound: 'SITE_GROUP_NOT_FOUND',
  siteGroupNameTaken: 'SITE_GROUP_NAME_TAKEN',
  groupPersonalOnly: 'GROUP_PERSONAL_ONLY',
  managerNotEligible: 'MANAGER_NOT_ELIGIBLE',
  siteManagerLimit: 'SITE_MANAGER_LIMIT',
  lifetimeManagerRequired: 'LIFETIME_MANAGER_REQUIRED',
  manageAllIsLifetime: 'MANAGE_ALL_IS_LIFETIME',
  managerExpiryPast: 'MANAGER_EXPIRY_PAST',
  siteManagerNotFound: 'SITE_MANAGER_NOT_FOUND',
  deviceNotP2p: 'DEVICE_NOT_P2P',
  targetIsTenantSite: 'TARGET_IS_TENANT_SITE',
  differentOwner: 'DIFFERENT_OWNER',
  sameSite: 'SAME_SITE',
  deviceMovePending: 'DEVICE_MOVE_PENDING',
  deviceMoveState: 'DEVICE_MOVE_STATE',
  deviceMoveStale: 'DEVICE_MOVE_STALE',
  deviceMoveNotFound: 'DEVICE_MOVE_NOT_FOUND',
} as const;
export type SiteAdminErrorCode = (typeof SiteAdminErrorCode)[keyof typeof SiteAdminErrorCode];

/** At most this many site managers per site (§3.4.4). */
export const SITE_MANAGERS_MAX = 100;

// ---- site groups

export const SiteGroupBodySchema = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
export type SiteGroupBody = Static<typeof SiteGroupBodySchema>;

export const GroupSitesBodySchema = Type.Object({ siteIds: Type.Array(UuidSchema, { minItems: 1, maxItems: 500 }) }, { additionalProperties: false });
export type GroupSitesBody = Static<typeof GroupSitesBodySchema>;

export const SiteGroupAssignBodySchema = Type.Object({ groupId: Type.Union([UuidSchema, Type.Null()]) }, { additionalProperties: false });
export type SiteGroupAssignBody = Static<typeof SiteGroupAssignBodySchema>;

export const SiteGroupSchema = Type.Object({
  id: UuidSchema,
  name: Type.String(),
  /** The grouped sites the caller sees. */
  siteIds: Type.Array(UuidSchema),
  createdAt: IsoDateSchema,
});
export type SiteGroup = Static<typeof SiteGroupSchema>;
export const SiteGroupsReplySchema = Type.Object({ items: Type.Array(SiteGroupSchema) });
export type SiteGroupsReply = Static<typeof SiteGroupsReplySchema>;

export const SiteGroupAssignmentSchema = Type.Object({ siteId: UuidSchema, groupId: Type.Union([UuidSchema, Type.Null()]) });
export type SiteGroupAssignment = Static<typeof SiteGroupAssignmentSchema>;

// ---- site managers

/** An expiry (ISO date-time) or null for Lifetime. */
const ExpirySchema = Type.Union([IsoDateSchema, Type.Null()]);

export const SiteManagerSchema = Type.Object({
  accountId: UuidSchema,
  name: Type.String(),
  email: Type.String(),
  /** Null: Lifetime. */
  expiresAt: ExpirySchema,
  /** Past its expiry: the manager no longer has the site. */
  expired: Type.Boolean(),
  /** Holds Manage All Sites: always Lifetime, not editable. */
  manageAll: Type.Boolean(),
  assignedAt: IsoDateSchema,
});
export type SiteManager = Static<typeof SiteManagerSchema>;
export const SiteManagersReplySchema = Type.Object({ items: Type.Array(SiteManagerSchema) });
export type SiteManagersReply = Static<typeof SiteManagersReplySchema>;

export const SitesManagersQuerySchema = Type.Object({ siteIds: Type.String({ minLength: 36, maxLength: 500 * 37 }) });
export const SitesManagersReplySchema = Type.Object({
  items: Type.Array(Type.Object({ siteId: UuidSchema, managers: Type.Array(SiteManagerSchema) })),
});
export type SitesManagersReply = Static<typeof SitesManagersReplySchema>;

export const ManagerCandidateSchema = Type.Object({ accountId: UuidSchema, name: Type.String(), email: Type.String(), manageAll: Type.Boolean() });
export type ManagerCandidate = Static<typeof ManagerCandidateSchema>;
export const ManagerCandidatesReplySchema = Type.Object({ items: Type.Array(ManagerCandidateSchema) });

export const AssignManagersBodySchema = Type.Object(
  {
    siteIds: Type.Array(UuidSchema, { minItems: 1, maxItems: 500 }),
    managers: Type.Array(Type.Object({ accountId: UuidSchema, expiresAt: ExpirySchema }, { additionalProperties: false }), { minItems: 1, maxItems: 100 }),
  },
  { additionalProperties: false },
);
export type AssignManagersBody = Static<typeof AssignManagersBodySchema>;

export const ManagerValidityBodySchema = Type.Object({ expiresAt: ExpirySchema }, { additionalProperties: false });
export type ManagerValidityBody = Static<typeof ManagerValidityBodySchema>;

// ---- device moves

export const DeviceMoveStatus = { pending: 'Pending', approved: 'Approved', rejected: 'Rejected' } as const;
export type DeviceMoveStatus = (typeof DeviceMoveStatus)[keyof typeof DeviceMoveStatus];

export const DeviceMoveBodySchema = Type.Object(
  {
    deviceIds: Type.Array(UuidSchema, { minItems: 1, maxItems: 256 }),
    target: Type.Union([
      Type.Object({ siteId: UuidSchema }, { additionalProperties: false }),
      Type.Object({ newSite: CreateSiteBodySchema }, { additionalProperties: false }),
    ]),
  },
  { additionalProperties: false },
);
export type DeviceMoveBody = Static<typeof DeviceMoveBodySchema>;

export const DeviceMoveSchema = Type.Object({
  id: UuidSchema,
  status: literals(Object.values(DeviceMoveStatus)),
  sourceSiteId: UuidSchema,
  sourceSiteName: Type.String(),
  targetSiteId: UuidSchema,
  targetSiteName: Type.String(),
  companyName: Type.String(),
  devices: Type.Array(Type.Object({ id: UuidSchema, name: Type.String(), serial: Type.String() })),
  requestedByName: Type.Union([Type.String(), Type.Null()]),
  createdAt: IsoDateSchema,
  decidedAt: Type.Union([IsoDateSchema, Type.Null()]),
});
export type DeviceMove = Static<typeof DeviceMoveSchema>;
export const DeviceMovesReplySchema = Type.Object({ items: Type.Array(DeviceMoveSchema) });
export type DeviceMovesReply = Static<typeof DeviceMovesReplySchema>;

export const MovableDeviceSchema = Type.Object({
  id: UuidSchema,
  name: Type.String(),
  serial: Type.String(),
  kind: Type.String(),
  channels: Type.Integer(),
  /** Null when it may move; otherwise why not (added by IP/domain, already in a pending move). */
  refusal: Type.Union([Type.Literal(SiteAdminErrorCode.deviceNotP2p), Type.Literal(SiteAdminErrorCode.deviceMovePending), Type.Null()]),
  /** It has configuration a move clears (ARC service, cloud storage, sharing, granted permissions). */
  configured: Type.Boolean(),
});
export type MovableDevice = Static<typeof MovableDeviceSchema>;
export const MovableDevicesReplySchema = Type.Object({ items: Type.Array(MovableDeviceSchema) });
