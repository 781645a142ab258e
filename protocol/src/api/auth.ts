import Type, { type Static } from 'typebox';
import { IsoDateSchema, literals, UuidSchema } from './common.js';

/** The six company types the manual offers at registration. */
export const CompanyType = {
  installer: 'installer',
  systemIntegrator: 'system_integrator',
  distributor: 'distributor',
  reseller: 'reseller',
  alarmReceivingCenter: 'alarm_receiving_center',
  oem: 'oem',
} as const;
export type CompanyType = (typeof CompanyType)[keyof typeof CompanyType];
export const COMPANY_TYPE_LABELS: Record<CompanyType, string> = {
  installer: 'Installer',
  system_integrator: 'System integrator',
  distributor: 'Distributor',
  reseller: 'Reseller',
  alarm_receiving_center: 'Alarm receiving center',
  oem: 'OEM',
};

/** The platform operator's staff (the manual's "Hikvision"): reviews authentications, edits the region matrix. Customers own handed-over sites. */
export const AccountRole = { installerAdmin: 'installer_admin', installer: 'installer', vendorAdmin: 'vendor_admin', customer: 'customer' } as const;
/** Each customer (the end-user side: site owners, sharing recipients) has a company of this type to itself. */
export const CUSTOMER_COMPANY_TYPE = 'customer';
export type AccountRole = (typeof AccountRole)[keyof typeof AccountRole];

/** Account passwords: 8 to 64 characters with at least three of upper case, lower case, digits and others. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 64;

/** Returns why a password breaks the policy, or null when it is acceptable. */
export function passwordProblem(password: string, email?: string): string | null {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    return `Password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters long.`;
  }
  const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 3) {
    return 'Password must contain at least three of: upper-case letters, lower-case letters, digits, other characters.';
  }
  const local = email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 3 && password.toLowerCase().includes(local)) {
    return 'Password must not contain the name part of the email address.';
  }
  return null;
}

const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
const Password = Type.String({ minLength: 1, maxLength: 256 });
const CompanyTypeSchema = literals(Object.values(CompanyType));

export const RegisterBodySchema = Type.Object(
  {
    company: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 128 }),
        type: CompanyTypeSchema,
        /** ISO 3166-1 alpha-2; fixed at registration. */
        countryCode: Type.String({ pattern: '^[A-Z]{2}$' }),
      },
      { additionalProperties: false },
    ),
    admin: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 128 }),
        email: Email,
        password: Password,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBodySchema>;

export const LoginBodySchema = Type.Object(
  { email: Email, password: Password },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBodySchema>;

export const TokenBodySchema = Type.Object(
  {
    email: Email,
    password: Password,
    /** Lifetime of the bearer token in days (default 30). */
    days: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })),
    /** The installer's mobile app signs in as 'mobile': some things are done only there (adding an AX HOME). */
    client: Type.Optional(Type.Union([Type.Literal('api'), Type.Literal('mobile')])),
  },
  { additionalProperties: false },
);

export const TokenReplySchema = Type.Object({ token: Type.String(), expiresAt: IsoDateSchema });

export const CompanySchema = Type.Object({
  id: UuidSchema,
  name: Type.String(),
  /** An installer company's type, `vendor` for the platform operator's own accounts, `customer` for a customer's. */
  type: Type.Union([CompanyTypeSchema, Type.Literal('vendor'), Type.Literal('customer')]),
  countryCode: Type.String(),
  authStatus: Type.Union([Type.Literal('unauthenticated'), Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')]),
  createdAt: IsoDateSchema,
});
export type Company = Static<typeof CompanySchema>;

export const AccountSchema = Type.Object({
  id: UuidSchema,
  companyId: UuidSchema,
  name: Type.String(),
  email: Type.String(),
  role: Type.Union([Type.Literal('installer_admin'), Type.Literal('installer'), Type.Literal('vendor_admin'), Type.Literal('customer')]),
  /** An employee whose account limit is not removed: signs in, but manages no sites or devices. */
  limited: Type.Boolean(),
  /** Signed in through the company's identity provider, provisioned by it. */
  synced: Type.Boolean(),
  createdAt: IsoDateSchema,
});
export type Account = Static<typeof AccountSchema>;

export const MeReplySchema = Type.Object({
  account: AccountSchema,
  company: CompanySchema,
  /** What the caller holds now: the role's permissions, without site, device and video ones while limited. */
  permissions: Type.Array(Type.String()),
  /** The region features the company has (RegionFeature). */
  features: Type.Array(Type.String()),
});
export type MeReply = Static<typeof MeReplySchema>;
