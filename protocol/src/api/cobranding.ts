import Type, { type Static } from 'typebox';
import { IsoDateSchema, literals, UuidSchema } from './common.js';

/**
 * Co-branding (manual §3.3.3): while the service is valid and switched on, a company's customers see its logo, or
 * its name when it has none, on their sites. The service is bought, activated with service keys, or extended with
 * reward points; each extension starts from the later of now and the current end of validity.
 *
 * Installer Admin only (anyone else 403 INSTALLER_ADMIN_ONLY):
 *   GET    /api/v1/company/co-branding                      → CoBranding
 *   PUT    /api/v1/company/co-branding                      CoBrandingSwitchBody → CoBranding (switching on needs a
 *                                                           valid service: 409 CO_BRANDING_NOT_ACTIVE)
 *   PUT    /api/v1/company/co-branding/logo                 LogoBody → CoBranding (422 LOGO_TOO_LARGE over
 *                                                           LOGO_MAX_BYTES decoded, 422 LOGO_NOT_IMAGE when the bytes
 *                                                           are not the declared PNG or JPEG)
 *   GET    /api/v1/company/co-branding/logo                 → the logo's bytes (404 LOGO_NOT_FOUND)
 *   DELETE /api/v1/company/co-branding/logo                 → CoBranding (customers see the company name)
 *   POST   /api/v1/company/co-branding/orders               CoBrandingOrderBody → 201 CoBranding (an online purchase;
 *                                                           no payment provider is connected: the order is recorded
 *                                                           as paid)
 *   POST   /api/v1/company/co-branding/service-keys         ServiceKeysBody → CoBranding (every key extends the
 *                                                           service by its months; an unknown key 404
 *                                                           SERVICE_KEY_UNKNOWN, a redeemed one 409 SERVICE_KEY_USED,
 *                                                           a key given twice or more than SERVICE_KEYS_PER_SUBMISSION
 *                                                           keys 422 SERVICE_KEYS_INVALID: the whole submission is
 *                                                           refused and nothing changes)
 *   POST   /api/v1/company/co-branding/redeem-points        RedeemPointsBody → CoBranding (POINTS_PER_MONTH a month;
 *                                                           422 NOT_ENOUGH_POINTS)
 *   POST   /api/v1/company/co-branding/free-year            → CoBranding (FREE_YEAR_MONTHS once per company, for an
 *                                                           authenticated company (403 COMPANY_NOT_AUTHENTICATED) in a
 *                                                           region that offers it (403 FEATURE_UNAVAILABLE_IN_REGION)
 *                                                           with at least FREE_YEAR_P2P_DEVICES devices added via P2P
 *                                                           (422 NOT_ENOUGH_P2P_DEVICES); a second time 409
 *                                                           FREE_YEAR_CLAIMED)
 * Purchase and service keys need an authenticated company (403 COMPANY_NOT_AUTHENTICATED).
 *
 * The platform operator (vendor admin only, anyone else 403 VENDOR_ONLY):
 *   POST   /api/v1/vendor/service-keys                      MintServiceKeysBody → 201 ServiceKeysReply (the new keys)
 *   GET    /api/v1/vendor/service-keys                      → ServiceKeysReply (the newest SERVICE_KEYS_LISTED)
 *
 * The customer's side (customer accounts only, 403 CUSTOMER_ONLY; a site the customer does not own or share → 404
 * SITE_NOT_FOUND):
 *   GET    /api/v1/customer/sites/:siteId/branding          → SiteBranding of the site's installer company
 *   GET    /api/v1/customer/sites/:siteId/branding/logo     → the logo's bytes while the service is active (404
 *                                                           LOGO_NOT_FOUND otherwise)
 */

/** The service periods sold online and on service keys. */
export const CO_BRANDING_MONTHS = [12, 24, 36] as const;
const MonthsSchema = literals(CO_BRANDING_MONTHS);

/** The Rewards Store's price of one month of co-branding. */
export const POINTS_PER_MONTH = 100;
/** At most this many months are redeemed with points at once. */
export const MAX_POINTS_MONTHS = 36;

/** The free year (manual §3.3.3, "in some countries/regions"): after authentication, with this many P2P devices. */
export const FREE_YEAR_P2P_DEVICES = 3;
export const FREE_YEAR_MONTHS = 12;

/** The Installer Admin is told this many months before the service ends (§3.3.3). */
export const EXPIRY_NOTICE_MONTHS = 2;
/** When a service ending at `validUntil` is ending soon: the reminder's moment, and the page's warning's. */
export function expiryNoticeAt(validUntil: Date): Date {
  const at = new Date(validUntil);
  at.setUTCMonth(at.getUTCMonth() - EXPIRY_NOTICE_MONTHS);
  return at;
}

/** The largest logo, decoded. */
export const LOGO_MAX_BYTES = 256 * 1024;
export const LOGO_CONTENT_TYPES = ['image/png', 'image/jpeg'] as const;
export type LogoContentType = (typeof LOGO_CONTENT_TYPES)[number];
const LogoContentTypeSchema = literals(LOGO_CONTENT_TYPES);

export const SERVICE_KEYS_PER_SUBMISSION = 20;
export const SERVICE_KEYS_PER_MINT = 100;
export const SERVICE_KEYS_LISTED = 500;
/** A key as printed: four groups of four characters of Crockford's base 32 (no I, L, O or U). */
export const SERVICE_KEY_PATTERN = '^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$';

export const ServiceType = { coBranding: 'co_branding' } as const;
export type ServiceType = (typeof ServiceType)[keyof typeof ServiceType];
const ServiceTypeSchema = literals(Object.values(ServiceType));
export const SERVICE_TYPE_LABELS: Record<ServiceType, string> = { co_branding: 'Co-branding' };

/** How the service was obtained or extended. */
export const CoBrandingSource = { purchase: 'purchase', serviceKey: 'service_key', rewardPoints: 'reward_points', freePromo: 'free_promo' } as const;
export type CoBrandingSource = (typeof CoBrandingSource)[keyof typeof CoBrandingSource];

export const PaymentMethod = { card: 'card', paypal: 'paypal', bankTransfer: 'bank_transfer' } as const;
export type PaymentMethod = (typeof PaymentMethod)[keyof typeof PaymentMethod];
export const PAYMENT_METHOD_LABELS: Record<PaymentMethod, string> = { card: 'Credit or debit card', paypal: 'PayPal', bank_transfer: 'Bank transfer' };

export const CoBrandingErrorCode = {
  /** Switching on needs a service whose validity has not ended. */
  notActive: 'CO_BRANDING_NOT_ACTIVE',
  serviceKeyUnknown: 'SERVICE_KEY_UNKNOWN',
  serviceKeyUsed: 'SERVICE_KEY_USED',
  /** The submission itself is wrong: no key, a key twice, too many keys. */
  serviceKeysInvalid: 'SERVICE_KEYS_INVALID',
  notEnoughPoints: 'NOT_ENOUGH_POINTS',
  logoTooLarge: 'LOGO_TOO_LARGE',
  /** The bytes are not an image of the declared type. */
  logoNotImage: 'LOGO_NOT_IMAGE',
  logoNotFound: 'LOGO_NOT_FOUND',
  /** The free year is had once per company. */
  freeYearClaimed: 'FREE_YEAR_CLAIMED',
  notEnoughP2pDevices: 'NOT_ENOUGH_P2P_DEVICES',
} as const;
export type CoBrandingErrorCode = (typeof CoBrandingErrorCode)[keyof typeof CoBrandingErrorCode];

export const CoBrandingOrderSchema = Type.Object({
  id: UuidSchema,
  source: literals(Object.values(CoBrandingSource)),
  months: Type.Integer(),
  /** What the order was made with: VAT number and payment method, the key, the points. */
  details: Type.Record(Type.String(), Type.String()),
  createdByName: Type.Union([Type.String(), Type.Null()]),
  createdAt: IsoDateSchema,
});
export type CoBrandingOrder = Static<typeof CoBrandingOrderSchema>;

export const CoBrandingSchema = Type.Object({
  enabled: Type.Boolean(),
  hasLogo: Type.Boolean(),
  logoContentType: Type.Union([LogoContentTypeSchema, Type.Null()]),
  /** The end of the service; null: never obtained. */
  validUntil: Type.Union([IsoDateSchema, Type.Null()]),
  /** Switched on and valid now: customers see the branding. */
  active: Type.Boolean(),
  companyAuthenticated: Type.Boolean(),
  rewardPoints: Type.Integer(),
  /** The free year: what it needs, and whether the company had it. */
  freeYear: Type.Object({
    /** The company's region offers it (the region matrix's co_branding_free_year). */
    offered: Type.Boolean(),
    claimed: Type.Boolean(),
    /** The company's devices added via P2P (Table 3-5's access mode). */
    p2pDevices: Type.Integer(),
    /** Offered, not claimed, authenticated, enough P2P devices: POST .../free-year succeeds. */
    available: Type.Boolean(),
  }),
  /** The newest first. */
  orders: Type.Array(CoBrandingOrderSchema),
});
export type CoBranding = Static<typeof CoBrandingSchema>;

export const CoBrandingSwitchBodySchema = Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false });
export type CoBrandingSwitchBody = Static<typeof CoBrandingSwitchBodySchema>;

export const LogoBodySchema = Type.Object(
  {
    contentType: LogoContentTypeSchema,
    /** The image's bytes, base64. */
    data: Type.String({ minLength: 4, pattern: '^[A-Za-z0-9+/]+={0,2}$' }),
  },
  { additionalProperties: false },
);
export type LogoBody = Static<typeof LogoBodySchema>;

const CodeSchema = Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9-]*$' });
export const CoBrandingOrderBodySchema = Type.Object(
  {
    months: MonthsSchema,
    vatNumber: Type.String({ minLength: 2, maxLength: 32, pattern: '^[A-Za-z0-9 .-]+$' }),
    paymentMethod: literals(Object.values(PaymentMethod)),
    /** The distributor's invitation code: a discount for the company, a rebate for the distributor. */
    distributorCode: Type.Optional(CodeSchema),
    /** The code from the vendor's sales. */
    salesCode: Type.Optional(CodeSchema),
  },
  { additionalProperties: false },
);
export type CoBrandingOrderBody = Static<typeof CoBrandingOrderBodySchema>;

export const ServiceKeysBodySchema = Type.Object(
  {
    /** One key or several, separated by commas; spaces around them are ignored, dashes and case do not matter. */
    keys: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type ServiceKeysBody = Static<typeof ServiceKeysBodySchema>;

export const RedeemPointsBodySchema = Type.Object({ months: Type.Integer({ minimum: 1, maximum: MAX_POINTS_MONTHS }) }, { additionalProperties: false });
export type RedeemPointsBody = Static<typeof RedeemPointsBodySchema>;

export const ServiceKeySchema = Type.Object({
  code: Type.String(),
  serviceType: ServiceTypeSchema,
  months: Type.Integer(),
  redeemedByCompanyId: Type.Union([UuidSchema, Type.Null()]),
  redeemedByCompanyName: Type.Union([Type.String(), Type.Null()]),
  redeemedAt: Type.Union([IsoDateSchema, Type.Null()]),
  createdAt: IsoDateSchema,
});
export type ServiceKey = Static<typeof ServiceKeySchema>;

export const MintServiceKeysBodySchema = Type.Object(
  {
    serviceType: ServiceTypeSchema,
    months: MonthsSchema,
    count: Type.Integer({ minimum: 1, maximum: SERVICE_KEYS_PER_MINT }),
  },
  { additionalProperties: false },
);
export type MintServiceKeysBody = Static<typeof MintServiceKeysBodySchema>;

export const ServiceKeysReplySchema = Type.Object({ items: Type.Array(ServiceKeySchema) });
export type ServiceKeysReply = Static<typeof ServiceKeysReplySchema>;

/** What a customer sees of the installer company looking after a site. */
export const SiteBrandingSchema = Type.Object({
  /** Co-branding is switched on and valid: show the logo, or the company name when logoUrl is null. */
  active: Type.Boolean(),
  companyName: Type.String(),
  logoUrl: Type.Union([Type.String(), Type.Null()]),
});
export type SiteBranding = Static<typeof SiteBrandingSchema>;
