import Type, { type Static } from 'typebox';
import { IsoDateSchema, literals, UuidSchema } from './common.js';
import { DevicePermissionName, ValiditySchema } from './site-status.js';

/**
 * Handing a site over by transfer (manual §3.3.2): the customer who accepts becomes the site's owner, and the
 * installer company keeps only the permissions it asked for, granted at once.
 *
 * Installer side (Manage All Sites, or Manage Assigned Sites for this site; an active ISP partner too):
 *   POST   /api/v1/sites/:siteId/handover         HandoverBody → 201 SiteHandover (site and handover NotRegistered,
 *                                                 or ToBeAccepted when a customer has that email or phone; a mail or
 *                                                 SMS carries the link `/handover/<token>`. By QR code: no recipient,
 *                                                 ToBeAccepted, and the reply's `link` — shown once, as a QR code the
 *                                                 customer scans face to face — lets the customer who opens it accept)
 *   GET    /api/v1/sites/:siteId/handover         → SiteHandover (the current or last handover, and resends left today)
 *   POST   /api/v1/sites/:siteId/handover/resend  ResendHandoverBody → 201 SiteHandover (the previous handover is
 *                                                 Invalidated; at most 5 a day in the site's time zone)
 *   DELETE /api/v1/sites/:siteId/handover         → SiteHandover (Cancelled; the site is NotHandedOver again)
 * Customer side:
 *   GET    /api/v1/handovers/:token               (public) → HandoverOffer
 *   GET    /api/v1/customer/handovers             → CustomerHandoversReply (waiting for the caller)
 *   POST   /api/v1/customer/handovers/:id/accept  ?token=<the link's token> (a QR code's handover: whoever holds its
 *                                                 link answers it) → HandoverOffer (the caller owns the site: HandedOverNotAuthorized,
 *                                                 or AuthorizedAndMonitoring when ManageSiteInformation was asked;
 *                                                 each asked permission is an approved grant; ISP partners leave)
 *   POST   /api/v1/customer/handovers/:id/reject  → HandoverOffer (Rejected; the site is NotHandedOver again)
 *
 * Refusals, in the order they are checked: a malformed body, a validity not in Validity among them, 400
 * VALIDATION_FAILED (before anything else); no site permission at all 403 PERMISSION_DENIED; an unknown site 404
 * SITE_NOT_FOUND; a site of the company not assigned to the caller 403 PERMISSION_DENIED; a status that forbids it
 * 409 SITE_STATUS_FORBIDS; a recipient that is no email / no E.164 number, or one given to a QR code, 400
 * INVALID_RECIPIENT; a permission
 * list that does not fit (devices on ManageSiteInformation, none on a device permission, a permission twice) 422
 * HANDOVER_PERMISSIONS_INVALID; no device that can be handed over 422 SITE_HAS_NO_DEVICES; a device permission
 * without device management 403 DEVICE_MANAGEMENT_REQUIRED; a device not of this site 422 DEVICE_NOT_ON_SITE, or
 * added by IP/domain 422 DEVICE_NOT_HANDOVER_CAPABLE; an installer's or the platform's account 422
 * RECIPIENT_NOT_CUSTOMER; the sixth resend of a day 429 HANDOVER_RESEND_LIMIT; cancelling with none waiting 409
 * HANDOVER_NOT_PENDING. Customer side: unknown token or id 404 HANDOVER_NOT_FOUND; not the recipient 403
 * NOT_RECIPIENT; superseded 410 HANDOVER_INVALIDATED; past its 7 days 410 HANDOVER_EXPIRED; already answered or
 * cancelled 409 HANDOVER_NOT_PENDING.
 */

export const HandoverStatus = {
  notRegistered: 'NotRegistered',
  toBeAccepted: 'ToBeAccepted',
  accepted: 'Accepted',
  rejected: 'Rejected',
  /** Superseded by a resend. */
  invalidated: 'Invalidated',
  expired: 'Expired',
  cancelled: 'Cancelled',
} as const;
export type HandoverStatus = (typeof HandoverStatus)[keyof typeof HandoverStatus];
export const HANDOVER_STATUS_LABELS: Record<HandoverStatus, string> = {
  NotRegistered: 'Not registered',
  ToBeAccepted: 'To be accepted',
  Accepted: 'Accepted',
  Rejected: 'Rejected',
  Invalidated: 'Invalidated',
  Expired: 'Expired',
  Cancelled: 'Cancelled',
};
/** Waiting for the customer's answer. */
export const PENDING_HANDOVER_STATUSES: readonly HandoverStatus[] = [HandoverStatus.notRegistered, HandoverStatus.toBeAccepted];

/** Resubmissions a waiting handover allows per site and calendar day (§3.3.2). */
export const HANDOVER_RESENDS_PER_DAY = 5;
/** How long a handover waits for its answer (not stated by the manual). */
export const HANDOVER_VALID_DAYS = 7;

export const HandoverErrorCode = {
  siteHasNoDevices: 'SITE_HAS_NO_DEVICES',
  deviceManagementRequired: 'DEVICE_MANAGEMENT_REQUIRED',
  deviceNotOnSite: 'DEVICE_NOT_ON_SITE',
  deviceNotHandoverCapable: 'DEVICE_NOT_HANDOVER_CAPABLE',
  permissionsInvalid: 'HANDOVER_PERMISSIONS_INVALID',
  invalidRecipient: 'INVALID_RECIPIENT',
  recipientNotCustomer: 'RECIPIENT_NOT_CUSTOMER',
  resendLimit: 'HANDOVER_RESEND_LIMIT',
  notFound: 'HANDOVER_NOT_FOUND',
  notPending: 'HANDOVER_NOT_PENDING',
  invalidated: 'HANDOVER_INVALIDATED',
  expired: 'HANDOVER_EXPIRED',
  notRecipient: 'NOT_RECIPIENT',
} as const;
export type HandoverErrorCode = (typeof HandoverErrorCode)[keyof typeof HandoverErrorCode];

/** What a transfer may ask for: the site's information, and three uses of chosen devices. */
export const HANDOVER_PERMISSIONS = [
  DevicePermissionName.manageSiteInformation,
  DevicePermissionName.configuration,
  DevicePermissionName.liveView,
  DevicePermissionName.playback,
] as const;
export type HandoverPermissionName = (typeof HANDOVER_PERMISSIONS)[number];

const PermissionSchema = literals(HANDOVER_PERMISSIONS);

export const HandoverPermissionSchema = Type.Object(
  {
    permission: PermissionSchema,
    /** Empty for ManageSiteInformation. */
    deviceIds: Type.Array(UuidSchema, { maxItems: 512 }),
    validity: ValiditySchema,
  },
  { additionalProperties: false },
);
export type HandoverPermission = Static<typeof HandoverPermissionSchema>;

export const HANDOVER_CHANNELS = ['email', 'phone', 'qrcode'] as const;
export type HandoverChannel = (typeof HANDOVER_CHANNELS)[number];
const Channel = literals(HANDOVER_CHANNELS);
const Recipient = Type.String({ minLength: 1, maxLength: 254 });
const CustomerName = Type.String({ maxLength: 128 });
const Remarks = Type.String({ maxLength: 512 });

export const HandoverBodySchema = Type.Object(
  {
    channel: Channel,
    /** An email address, or a mobile number in E.164; none for a QR code. */
    recipient: Type.Optional(Recipient),
    customerName: Type.Optional(CustomerName),
    /** Shown to the customer with the handover. */
    remarks: Type.Optional(Remarks),
    permissions: Type.Array(HandoverPermissionSchema, { maxItems: 4 }),
  },
  { additionalProperties: false },
);
export type HandoverBody = Static<typeof HandoverBodySchema>;

/** The link's token, when a customer answers a QR code's handover (nobody else is its recipient). */
export const HandoverAnswerQuerySchema = Type.Object({ token: Type.Optional(Type.String({ maxLength: 128 })) }, { additionalProperties: false });
export type HandoverAnswerQuery = Static<typeof HandoverAnswerQuerySchema>;

/** A resend asks for the same permissions; it may go to another recipient, or with other remarks. */
export const ResendHandoverBodySchema = Type.Object(
  {
    channel: Type.Optional(Channel),
    recipient: Type.Optional(Recipient),
    customerName: Type.Optional(CustomerName),
    remarks: Type.Optional(Remarks),
  },
  { additionalProperties: false },
);
export type ResendHandoverBody = Static<typeof ResendHandoverBodySchema>;

/** An asked permission with the names of its devices, as both sides read it. */
export const HandoverPermissionViewSchema = Type.Object({
  permission: PermissionSchema,
  validity: ValiditySchema,
  devices: Type.Array(Type.Object({ id: UuidSchema, name: Type.String() })),
});
export type HandoverPermissionView = Static<typeof HandoverPermissionViewSchema>;

const StatusSchema = literals(Object.values(HandoverStatus));

export const HandoverSchema = Type.Object({
  id: UuidSchema,
  siteId: UuidSchema,
  channel: Channel,
  recipient: Type.String(),
  customerName: Type.String(),
  remarks: Type.String(),
  permissions: Type.Array(HandoverPermissionViewSchema),
  status: StatusSchema,
  createdAt: IsoDateSchema,
  expiresAt: IsoDateSchema,
  decidedAt: Type.Union([IsoDateSchema, Type.Null()]),
});
export type Handover = Static<typeof HandoverSchema>;

/** The installer's view of a site's handover. */
export const SiteHandoverSchema = Type.Object({
  siteId: UuidSchema,
  siteStatus: Type.String(),
  /** The newest handover of the site, if any. */
  handover: Type.Union([HandoverSchema, Type.Null()]),
  /** Resends still allowed today (site's time zone). */
  resendsLeft: Type.Integer({ minimum: 0 }),
  /** The offer's link, in the reply that made a QR-code handover only: it is not kept (a resend makes a new one). */
  link: Type.Optional(Type.String()),
});
export type SiteHandover = Static<typeof SiteHandoverSchema>;

/** What the customer reads of a handover (from its link, or the list of those waiting). */
export const HandoverOfferSchema = Type.Object({
  id: UuidSchema,
  siteId: UuidSchema,
  siteName: Type.String(),
  /** The site's own company, never an ISP partner's (§3.4.5). */
  companyName: Type.String(),
  customerName: Type.String(),
  remarks: Type.String(),
  permissions: Type.Array(HandoverPermissionViewSchema),
  status: StatusSchema,
  createdAt: IsoDateSchema,
  expiresAt: IsoDateSchema,
  /** The signed-in account is the one it was sent to (false when nobody is signed in). */
  forMe: Type.Boolean(),
});
export type HandoverOffer = Static<typeof HandoverOfferSchema>;
export const CustomerHandoversReplySchema = Type.Object({ items: Type.Array(HandoverOfferSchema) });
export type CustomerHandoversReply = Static<typeof CustomerHandoversReplySchema>;

export const HandoverTokenParamsSchema = Type.Object({ token: Type.String({ minLength: 16, maxLength: 128 }) });
