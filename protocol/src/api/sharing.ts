import Type, { type Static } from 'typebox';
import { IsoDateSchema, literals, UuidSchema } from './common.js';
import { DeviceUseSchema, ValiditySchema } from './site-status.js';

/**
 * Handing a personal site over by sharing (manual §3.3.2): the company keeps the devices, and each customer it is
 * shared with sees the site and the devices shared with it, once it accepts.
 *
 * Installer side (Manage All Sites, or Manage Assigned Sites for this site; an active ISP partner too):
 *   POST /api/v1/sites/:siteId/sharing                       SharingBody → 201 SiteSharing (site Shared; one
 *                                                            recipient per customer, NotRegistered or ToBeAccepted;
 *                                                            a mail or SMS with the link `/share/<token>`)
 *   GET  /api/v1/sites/:siteId/sharing                       → SiteSharing (404 SHARING_NOT_FOUND: never shared)
 *   POST /api/v1/sites/:siteId/sharing/recipients            AddRecipientsBody → 201 SiteSharing
 *   POST /api/v1/sites/:siteId/sharing/recipients/:id/reshare → SiteSharing (Rejected or Expired only: a new link)
 *   POST /api/v1/sites/:siteId/sharing/recipients/:id/cancel  → SiteSharing (ToBeAccepted/NotRegistered or Accepted
 *                                                            only: the customer loses the site at once)
 *   PATCH /api/v1/sites/:siteId/sharing/recipients/:id       EditRecipientBody → SiteSharing (Mode A, not accepted;
 *                                                            a new address sends a new link)
 *   PUT  /api/v1/sites/:siteId/sharing/recipients/:id/devices RecipientDevicesBody → SiteSharing (the customer
 *                                                            card, "Batch Share Devices": only while Shared; no new
 *                                                            acceptance; devices added to the site later are
 *                                                            shared with no one until assigned here)
 * Customer side:
 *   GET  /api/v1/sharings/:token                             (public) → SharingOffer
 *   GET  /api/v1/customer/sharings                           → CustomerSharingsReply (waiting for the caller)
 *   POST /api/v1/customer/sharings/:id/accept                → SharingOffer (Accepted: the site and its shared
 *                                                            devices are the customer's through /customer/sites)
 *   POST /api/v1/customer/sharings/:id/reject                → SharingOffer (Rejected)
 *
 * Refusals: unknown site 404 SITE_NOT_FOUND; no site management 403 PERMISSION_DENIED; a status that forbids it
 * 409 SITE_STATUS_FORBIDS; a team site 422 SHARING_PERSONAL_ONLY; an address that is no email / no E.164 number
 * 400 INVALID_RECIPIENT; a device not of the site 422 DEVICE_NOT_ON_SITE, added by IP/domain 422
 * DEVICE_NOT_HANDOVER_CAPABLE; Mode A with no Customer Administrator 422 CUSTOMER_ADMIN_REQUIRED, with two 422
 * CUSTOMER_ADMIN_NOT_UNIQUE; Mode A on a site authorized to an ARC without both ARC sub-permissions 422
 * ARC_PERMISSIONS_REQUIRED; a device shared with more than 10 customers 422 DEVICE_SHARE_LIMIT; an installer's or
 * the platform's account 422 RECIPIENT_NOT_CUSTOMER; the same customer twice 422 DUPLICATE_RECIPIENT; a
 * recipient's state that does not allow the action 409 RECIPIENT_STATE; editing a Mode B sharing 409
 * SHARING_MODE_B. Customer side: unknown token or id 404 SHARING_NOT_FOUND; not the recipient 403 NOT_RECIPIENT;
 * past its 7 days 410 SHARING_EXPIRED; not waiting 409 RECIPIENT_STATE. A customer on an installer route gets 403
 * PERMISSION_DENIED; an installer on a customer route 403 CUSTOMER_ONLY.
 *
 * Mode A: the installer company applies for device permissions to the Customer Administrator, the Accepted
 * recipient with `isAdmin`. Mode B: the company kept every device permission.
 */

export const SharingMode = { applyToCustomer: 'A', allPermissions: 'B' } as const;
export type SharingMode = (typeof SharingMode)[keyof typeof SharingMode];

export const SharingRecipientStatus = {
  notRegistered: 'NotRegistered',
  toBeAccepted: 'ToBeAccepted',
  accepted: 'Accepted',
  rejected: 'Rejected',
  expired: 'Expired',
  cancelled: 'Cancelled',
} as const;
export type SharingRecipientStatus = (typeof SharingRecipientStatus)[keyof typeof SharingRecipientStatus];
export const SHARING_RECIPIENT_STATUS_LABELS: Record<SharingRecipientStatus, string> = {
  NotRegistered: 'Not registered',
  ToBeAccepted: 'To be accepted',
  Accepted: 'Accepted',
  Rejected: 'Rejected',
  Expired: 'Expired',
  Cancelled: 'Cancelled',
};
/** Waiting for the customer's answer. */
export const WAITING_SHARING_STATUSES: readonly SharingRecipientStatus[] = [SharingRecipientStatus.notRegistered, SharingRecipientStatus.toBeAccepted];
/** "Share again" is offered for these (§3.3.2). */
export const RESHARABLE_STATUSES: readonly SharingRecipientStatus[] = [SharingRecipientStatus.rejected, SharingRecipientStatus.expired];
/** "Cancel sharing" is offered for these. */
export const CANCELLABLE_STATUSES: readonly SharingRecipientStatus[] = [...WAITING_SHARING_STATUSES, SharingRecipientStatus.accepted];

/** One device may be shared with at most this many customers (§3.3.2), counting those not Rejected, Expired or Cancelled. */
export const MAX_CUSTOMERS_PER_DEVICE = 10;
/** How long a sharing waits for its answer (not stated by the manual). */
export const SHARING_VALID_DAYS = 7;

/** The alarm devices' sub-permissions Mode A asks for when the site has the ARC service. */
export const ARC_SUB_PERMISSIONS = ['PIRCAM GIF', 'Video Clips'] as const;
export type ArcSubPermission = (typeof ARC_SUB_PERMISSIONS)[number];

export const SharingErrorCode = {
  personalOnly: 'SHARING_PERSONAL_ONLY',
  customerAdminRequired: 'CUSTOMER_ADMIN_REQUIRED',
  customerAdminNotUnique: 'CUSTOMER_ADMIN_NOT_UNIQUE',
  arcPermissionsRequired: 'ARC_PERMISSIONS_REQUIRED',
  deviceShareLimit: 'DEVICE_SHARE_LIMIT',
  recipientNotCustomer: 'RECIPIENT_NOT_CUSTOMER',
  duplicateRecipient: 'DUPLICATE_RECIPIENT',
  invalidRecipient: 'INVALID_RECIPIENT',
  deviceNotOnSite: 'DEVICE_NOT_ON_SITE',
  deviceNotHandoverCapable: 'DEVICE_NOT_HANDOVER_CAPABLE',
  notFound: 'SHARING_NOT_FOUND',
  recipientState: 'RECIPIENT_STATE',
  modeB: 'SHARING_MODE_B',
  notRecipient: 'NOT_RECIPIENT',
  expired: 'SHARING_EXPIRED',
} as const;
export type SharingErrorCode = (typeof SharingErrorCode)[keyof typeof SharingErrorCode];

const Channel = literals(['email', 'phone'] as const);
const Mode = literals(Object.values(SharingMode));
const Remarks = Type.String({ maxLength: 512 });

export const SharingRecipientBodySchema = Type.Object(
  {
    channel: Channel,
    /** An email address, or a mobile number in E.164. */
    recipient: Type.String({ minLength: 1, maxLength: 254 }),
    /** Shown to the customer with the sharing. */
    remarks: Type.Optional(Remarks),
    /** Mode A: the Customer Administrator (implied when there is only one customer). */
    isAdmin: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type SharingRecipientBody = Static<typeof SharingRecipientBodySchema>;

export const SharedDeviceBodySchema = Type.Object(
  {
    deviceId: UuidSchema,
    permissions: Type.Array(DeviceUseSchema, { minItems: 1, maxItems: 3, uniqueItems: true }),
    /** How long the customer may use them once it has them (from acceptance, or from assignment when later). */
    validity: ValiditySchema,
  },
  { additionalProperties: false },
);
export type SharedDeviceBody = Static<typeof SharedDeviceBodySchema>;

const Recipients = Type.Array(SharingRecipientBodySchema, { minItems: 1, maxItems: 50 });
const Devices = (minItems: number) => Type.Array(SharedDeviceBodySchema, { minItems, maxItems: 512 });

export const SharingBodySchema = Type.Object(
  {
    mode: Mode,
    recipients: Recipients,
    devices: Devices(1),
    /** Mode A on a site authorized to an ARC: both are required. */
    arcPermissions: Type.Optional(Type.Array(literals(ARC_SUB_PERMISSIONS), { maxItems: 2, uniqueItems: true })),
    remarks: Type.Optional(Remarks),
  },
  { additionalProperties: false },
);
export type SharingBody = Static<typeof SharingBodySchema>;

/** New customers of an existing sharing, each with these devices. */
export const AddRecipientsBodySchema = Type.Object({ recipients: Recipients, devices: Devices(0) }, { additionalProperties: false });
export type AddRecipientsBody = Static<typeof AddRecipientsBodySchema>;

export const EditRecipientBodySchema = Type.Object(
  {
    channel: Type.Optional(Channel),
    recipient: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
    remarks: Type.Optional(Remarks),
    isAdmin: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type EditRecipientBody = Static<typeof EditRecipientBodySchema>;

/** The customer card: exactly these devices are shared with the customer from now on. */
export const RecipientDevicesBodySchema = Type.Object({ devices: Devices(0) }, { additionalProperties: false });
export type RecipientDevicesBody = Static<typeof RecipientDevicesBodySchema>;

export const SharedDeviceSchema = Type.Object({
  deviceId: UuidSchema,
  deviceName: Type.String(),
  kind: Type.String(),
  permissions: Type.Array(Type.String()),
  validity: ValiditySchema,
});
export type SharedDevice = Static<typeof SharedDeviceSchema>;

const StatusSchema = literals(Object.values(SharingRecipientStatus));

export const SharingRecipientSchema = Type.Object({
  id: UuidSchema,
  channel: Channel,
  recipient: Type.String(),
  /** The customer's name once it has an account. */
  customerName: Type.Union([Type.String(), Type.Null()]),
  remarks: Type.String(),
  isAdmin: Type.Boolean(),
  status: StatusSchema,
  devices: Type.Array(SharedDeviceSchema),
  createdAt: IsoDateSchema,
  expiresAt: IsoDateSchema,
  decidedAt: Type.Union([IsoDateSchema, Type.Null()]),
});
export type SharingRecipient = Static<typeof SharingRecipientSchema>;

/** The installer's view of a site's sharing. */
export const SiteSharingSchema = Type.Object({
  id: UuidSchema,
  siteId: UuidSchema,
  siteStatus: Type.String(),
  mode: Mode,
  arcPermissions: Type.Array(Type.String()),
  remarks: Type.String(),
  recipients: Type.Array(SharingRecipientSchema),
  createdAt: IsoDateSchema,
});
export type SiteSharing = Static<typeof SiteSharingSchema>;

/** What the customer reads of a sharing (from its link, or the list of those waiting). */
export const SharingOfferSchema = Type.Object({
  id: UuidSchema,
  siteId: UuidSchema,
  siteName: Type.String(),
  /** The site's own company, never an ISP partner's (§3.4.5). */
  companyName: Type.String(),
  mode: Mode,
  /** This customer would review the installer's permission applications (Mode A). */
  isAdmin: Type.Boolean(),
  remarks: Type.String(),
  devices: Type.Array(SharedDeviceSchema),
  status: StatusSchema,
  createdAt: IsoDateSchema,
  expiresAt: IsoDateSchema,
  /** The signed-in account is the one it was sent to (false when nobody is signed in). */
  forMe: Type.Boolean(),
});
export type SharingOffer = Static<typeof SharingOfferSchema>;
export const CustomerSharingsReplySchema = Type.Object({ items: Type.Array(SharingOfferSchema) });
export type CustomerSharingsReply = Static<typeof CustomerSharingsReplySchema>;

export const SharingTokenParamsSchema = Type.Object({ token: Type.String({ minLength: 16, maxLength: 128 }) });
