import Type, { type Static } from 'typebox';
import { IsoDateSchema, literals, UuidSchema } from './common.js';
import { DeviceGrantSchema, DeviceUseSchema, type DeviceGrant } from './site-status.js';

/**
 * Site authorization and device permissions after handover (manual §3.3.7), and device management invitations from
 * customers (§3.3.6).
 *
 * Installer (site management of the site and device.manage; an MSP partner applies for its own company):
 *   POST /api/v1/sites/:siteId/authorization               SiteAuthorizationBody → 201 DeviceGrant (pending; only in
 *                                                          HandedOverNotAuthorized, else 409 SITE_STATUS_FORBIDS; one
 *                                                          pending at a time, else 409 APPLICATION_PENDING)
 *   POST /api/v1/sites/:siteId/permission-applications     PermissionApplicationBody → 201 GrantsReply (pending, one per
 *                                                          device and permission; Table 3-12's statuses else 409; a
 *                                                          validity outside Permanent/1h/2h/4h/8h → 422 INVALID_VALIDITY;
 *                                                          a device not on the site → 422 DEVICE_NOT_ON_SITE; a device
 *                                                          listed twice → 422 DUPLICATE_DEVICE; the same permission
 *                                                          already pending → 409 APPLICATION_PENDING; a site shared in
 *                                                          Mode B → 409 PERMISSIONS_KEPT)
 *   GET  /api/v1/sites/:siteId/permissions                 → GrantsReply (the caller's company's, newest first)
 *   POST /api/v1/sites/:siteId/permissions/:id/release     → DeviceGrant (released at once, Permanent ones too; only an
 *                                                          approved, unexpired device permission, else 409 GRANT_STATE)
 *
 * Customer (the reviewer: the site owner of a transferred site, the Customer Administrator of a site shared in Mode A;
 * another customer who sees the site → 403 NOT_REVIEWER, one who does not → 404 SITE_NOT_FOUND / PERMISSION_NOT_FOUND;
 * an installer → 403 CUSTOMER_ONLY):
 *   GET  /api/v1/customer/permission-applications          → GrantsReply (pending, on every site the caller reviews)
 *   POST /api/v1/customer/permission-applications/:id/approve → DeviceGrant (approved; expiresAt = now + the validity's
 *                                                          hours; SiteAuthorization → the site AuthorizedAndMonitoring)
 *   POST /api/v1/customer/permission-applications/:id/deny → DeviceGrant (denied). Not pending → 409 GRANT_STATE.
 *   GET  /api/v1/customer/sites/:siteId/access             → SiteAccessReply (every company's grants on the site)
 *   POST /api/v1/customer/sites/:siteId/access/:id/revoke  → DeviceGrant (released; only an approved, unexpired one;
 *                                                          the installer's site authorization taken back returns the
 *                                                          site to HandedOverNotAuthorized)
 *
 * Device management invitations:
 *   POST /api/v1/customer/device-invitations               DeviceInvitationBody → 201 DeviceInvitation (the invitee
 *                                                          gets a mail with the link and a Business Notification;
 *                                                          valid 3 days). Not an installer account → 422 NOT_AN_INSTALLER;
 *                                                          a device not on a site the customer owns → 404
 *                                                          DEVICE_NOT_FOUND; one behind an edge box or added by
 *                                                          IP/domain → 422 DEVICE_NOT_INVITABLE
 *   GET  /api/v1/customer/device-invitations               → DeviceInvitationsReply (sent by the caller)
 *   GET  /api/v1/customer/device-invitations/devices       → InvitableDevicesReply (the caller's devices it may invite for)
 *   GET  /api/v1/device-invitations                        → DeviceInvitationsReply (addressed to the caller)
 *   POST /api/v1/device-invitations/:id/accept             → DeviceInvitation (Accepted: the devices are on the
 *                                                          invitee company's site named in the invitation, with
 *                                                          Permanent grants of the invited permissions)
 *   POST /api/v1/device-invitations/:id/decline            → DeviceInvitation (Declined)
 * Accept/decline: only the invitee account (403 NOT_INVITEE), only while Pending (409 INVITATION_STATE), not after
 * expiresAt (410 INVITATION_EXPIRED); devices no longer on the customer's sites → 409 INVITATION_STALE; the company
 * has a site of that name owned by someone else → 409 SITE_NAME_TAKEN.
 */

export const GrantErrorCode = {
  applicationPending: 'APPLICATION_PENDING',
  invalidValidity: 'INVALID_VALIDITY',
  deviceNotOnSite: 'DEVICE_NOT_ON_SITE',
  duplicateDevice: 'DUPLICATE_DEVICE',
  /** The site is shared in Mode B: the company kept every device permission, there is nobody to apply to. */
  permissionsKept: 'PERMISSIONS_KEPT',
  grantNotFound: 'PERMISSION_NOT_FOUND',
  /** The grant is not in a state that allows the action (approve a decided one, release an expired one). */
  grantState: 'GRANT_STATE',
  notReviewer: 'NOT_REVIEWER',
  notAnInstaller: 'NOT_AN_INSTALLER',
  deviceNotInvitable: 'DEVICE_NOT_INVITABLE',
  invitationNotFound: 'INVITATION_NOT_FOUND',
  notInvitee: 'NOT_INVITEE',
  invitationState: 'INVITATION_STATE',
  invitationExpired: 'INVITATION_EXPIRED',
  invitationStale: 'INVITATION_STALE',
} as const;
export type GrantErrorCode = (typeof GrantErrorCode)[keyof typeof GrantErrorCode];

export type Grant = DeviceGrant;
/** The status a DeviceGrant reads as (an approved grant past its expiry is expired). */
export type GrantStatus = Grant['status'];

const DeviceUses = Type.Array(DeviceUseSchema, { minItems: 1, maxItems: 3, uniqueItems: true });

/** How long an installer has to accept a device management invitation (§3.3.6). */
export const DEVICE_INVITATION_HOURS = 72;

const Remark = Type.String({ maxLength: 512 });

export const SiteAuthorizationBodySchema = Type.Object({ remark: Type.Optional(Remark) }, { additionalProperties: false });
export type SiteAuthorizationBody = Static<typeof SiteAuthorizationBodySchema>;

export const PermissionApplicationItemSchema = Type.Object(
  {
    deviceId: UuidSchema,
    permissions: DeviceUses,
    /** Permanent, 1h, 2h, 4h or 8h; checked by the service so that another value is a 422 INVALID_VALIDITY. */
    validity: Type.String({ maxLength: 32 }),
  },
  { additionalProperties: false },
);
export const PermissionApplicationBodySchema = Type.Object(
  { items: Type.Array(PermissionApplicationItemSchema, { minItems: 1, maxItems: 500 }), remark: Type.Optional(Remark) },
  { additionalProperties: false },
);
export type PermissionApplicationBody = Static<typeof PermissionApplicationBodySchema>;

export const GrantsReplySchema = Type.Object({ items: Type.Array(DeviceGrantSchema) });
export type GrantsReply = Static<typeof GrantsReplySchema>;

export const PendingApplicationSchema = Type.Object({ ...DeviceGrantSchema.properties, siteName: Type.String() });
export const PendingApplicationsReplySchema = Type.Object({ items: Type.Array(PendingApplicationSchema) });
export type PendingApplication = Static<typeof PendingApplicationSchema>;

export const SiteAccessReplySchema = Type.Object({ siteId: UuidSchema, siteName: Type.String(), items: Type.Array(DeviceGrantSchema) });
export type SiteAccessReply = Static<typeof SiteAccessReplySchema>;

export const DeviceInvitationBodySchema = Type.Object(
  {
    inviteeEmail: Type.String({ format: 'email', maxLength: 254 }),
    deviceIds: Type.Array(UuidSchema, { minItems: 1, maxItems: 256, uniqueItems: true }),
    siteName: Type.String({ minLength: 1, maxLength: 64, pattern: '\\S' }),
    permissions: DeviceUses,
  },
  { additionalProperties: false },
);
export type DeviceInvitationBody = Static<typeof DeviceInvitationBodySchema>;

export const DeviceInvitationStatus = { pending: 'Pending', accepted: 'Accepted', declined: 'Declined', expired: 'Expired' } as const;
export type DeviceInvitationStatus = (typeof DeviceInvitationStatus)[keyof typeof DeviceInvitationStatus];

const InvitedDeviceSchema = Type.Object({ id: UuidSchema, name: Type.String(), serial: Type.String(), model: Type.String() });
export type InvitedDevice = Static<typeof InvitedDeviceSchema>;

export const DeviceInvitationSchema = Type.Object({
  id: UuidSchema,
  customerAccountId: UuidSchema,
  customerName: Type.String(),
  customerEmail: Type.String(),
  inviteeEmail: Type.String(),
  devices: Type.Array(InvitedDeviceSchema),
  siteName: Type.String(),
  permissions: Type.Array(DeviceUseSchema),
  /** Pending, Accepted, Declined, or Expired once a pending one is past expiresAt. */
  status: literals(Object.values(DeviceInvitationStatus)),
  targetSiteId: Type.Union([UuidSchema, Type.Null()]),
  createdAt: IsoDateSchema,
  expiresAt: IsoDateSchema,
  decidedAt: Type.Union([IsoDateSchema, Type.Null()]),
});
export type DeviceInvitation = Static<typeof DeviceInvitationSchema>;
export const DeviceInvitationsReplySchema = Type.Object({ items: Type.Array(DeviceInvitationSchema) });

export const InvitableDeviceSchema = Type.Object({ ...InvitedDeviceSchema.properties, siteId: UuidSchema, siteName: Type.String() });
export type InvitableDevice = Static<typeof InvitableDeviceSchema>;
export const InvitableDevicesReplySchema = Type.Object({ items: Type.Array(InvitableDeviceSchema) });
