import Type, { type Static } from 'typebox';
import { EMAIL_RE, IsoDateSchema, literals, UuidSchema } from './common.js';
import { SiteStatus, SiteType } from './sites.js';

/**
 * The customer's side (the manual's Hik-Connect user: site owners and sharing recipients), served by the same cloud.
 *
 *   POST /api/v1/customer/register            CustomerRegisterBody → 201 MeReply (signed in at once, like /auth/login;
 *                                             every handover and sharing waiting for that email or phone is bound to
 *                                             the new account: NotRegistered → ToBeAccepted)
 *   GET  /api/v1/customer/sites               → CustomerSitesReply (owned: accepted transfers; shared: accepted sharings)
 *   GET  /api/v1/customer/sites/:siteId       → CustomerSite
 *   GET  /api/v1/customer/sites/:siteId/devices → CustomerDevicesReply (an owner sees every device of the site, a
 *                                             sharing recipient only the devices shared with it, with their permissions)
 * Refusals: password policy → 400 PASSWORD_POLICY; a phone not in E.164 → 400 INVALID_PHONE; email or phone of
 * another account → 409 EMAIL_TAKEN / PHONE_TAKEN; no country given and none known from a waiting handover → 400
 * COUNTRY_REQUIRED. The /customer routes (but register) are for customer accounts only (403 CUSTOMER_ONLY); a
 * site the customer neither owns nor has accepted a sharing of → 404 SITE_NOT_FOUND.
 */

/** Mobile numbers are kept and compared in E.164: a plus, the country code, at most 15 digits. */
export const PHONE_E164_PATTERN = '^\\+[1-9]\\d{6,14}$';
export const isE164 = (phone: string): boolean => new RegExp(PHONE_E164_PATTERN).test(phone);
/** A mobile number without the spaces, dashes and brackets people write in it. */
export const compactPhone = (raw: string): string => raw.replace(/[\s()-]/g, '');

/**
 * A customer's email (trimmed, in lower case) or mobile number (compacted, in E.164) as it is kept and compared,
 * wherever one is typed: handovers, sharing, registration. Undefined when it is not one.
 */
export function normalizeContact(channel: 'email' | 'phone', raw: string): string | undefined {
  const value = channel === 'email' ? raw.trim().toLowerCase() : compactPhone(raw);
  return (channel === 'email' ? EMAIL_RE.test(value) : isE164(value)) ? value : undefined;
}

export const CustomerErrorCode = {
  /** 400: a phone number not in E.164 form (+ country code and number). */
  invalidPhone: 'INVALID_PHONE',
  /** 400: registering with no country, and no waiting handover or sharing to take it from. */
  countryRequired: 'COUNTRY_REQUIRED',
} as const;
export type CustomerErrorCode = (typeof CustomerErrorCode)[keyof typeof CustomerErrorCode];

export const CustomerRegisterBodySchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    email: Type.String({ format: 'email', minLength: 3, maxLength: 254 }),
    /** E.164; a handover sent by SMS finds the customer by it. */
    phone: Type.Optional(Type.String({ maxLength: 16 })),
    password: Type.String({ minLength: 1, maxLength: 256 }),
    /** ISO 3166-1 alpha-2; by default that of the company whose handover or sharing is waiting for the customer. */
    countryCode: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$' })),
  },
  { additionalProperties: false },
);
export type CustomerRegisterBody = Static<typeof CustomerRegisterBodySchema>;

/** How the customer holds a site: its owner (accepted transfer) or a recipient of an accepted sharing. */
export const CustomerSiteRelation = { owner: 'owner', shared: 'shared' } as const;
export type CustomerSiteRelation = (typeof CustomerSiteRelation)[keyof typeof CustomerSiteRelation];

export const CustomerSiteSchema = Type.Object({
  id: UuidSchema,
  name: Type.String(),
  type: literals(Object.values(SiteType)),
  status: literals(Object.values(SiteStatus)),
  timeZone: Type.String(),
  address: Type.String(),
  city: Type.String(),
  relation: literals(Object.values(CustomerSiteRelation)),
  /** The installer company that built the site and handed it over. */
  companyId: UuidSchema,
  companyName: Type.String(),
  /** The devices this customer sees (for a sharing recipient, those shared with it). */
  deviceCount: Type.Integer(),
  createdAt: IsoDateSchema,
});
export type CustomerSite = Static<typeof CustomerSiteSchema>;
export const CustomerSitesReplySchema = Type.Object({ items: Type.Array(CustomerSiteSchema) });
export type CustomerSitesReply = Static<typeof CustomerSitesReplySchema>;

export const CustomerDeviceSchema = Type.Object({
  id: UuidSchema,
  name: Type.String(),
  kind: Type.String(),
  model: Type.String(),
  serial: Type.String(),
  status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  /** What the customer may do with it: everything for an owner, the shared permissions for a recipient. */
  permissions: Type.Array(Type.String()),
  /** A sharing's validity (Permanent, 1h, ...); null for an owner. */
  validity: Type.Union([Type.String(), Type.Null()]),
});
export type CustomerDevice = Static<typeof CustomerDeviceSchema>;
export const CustomerDevicesReplySchema = Type.Object({ items: Type.Array(CustomerDeviceSchema) });
export type CustomerDevicesReply = Static<typeof CustomerDevicesReplySchema>;
