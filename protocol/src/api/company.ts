import Type, { type Static } from 'typebox';
import { IsoDateSchema, literals, UuidSchema } from './common.js';

/**
 * The company itself (manual §1.3, §1.4, §3.4.1): its profile, its authentication by the platform operator, the
 * features its country or region has, and the in-app notifications of its accounts.
 *
 *   GET    /api/v1/company                                    → CompanyProfile
 *   PATCH  /api/v1/company                                    CompanyUpdateBody → CompanyProfile   (Installer Admin)
 *   GET    /api/v1/company/authentication                     → CompanyAuthentication (with the region's required fields)
 *   PUT    /api/v1/company/authentication                     AuthenticationSubmitBody → CompanyAuthentication (Installer Admin;
 *                                                            → pending; refused while pending or once approved)
 *   GET    /api/v1/notifications                              ?unread=1 → NotificationsReply (the caller's own)
 *   POST   /api/v1/notifications/:id/read                     → 204
 *
 * The platform operator ("vendor admin", an account created from configuration, role `vendor_admin`):
 *   GET    /api/v1/vendor/authentications                     ?status=pending → VendorAuthenticationsReply
 *   POST   /api/v1/vendor/authentications/:companyId/approve  → CompanyAuthentication (mail + notification to the admin)
 *   POST   /api/v1/vendor/authentications/:companyId/reject   AuthenticationRejectBody → CompanyAuthentication
 *   GET    /api/v1/vendor/regions                             → RegionMatrix
 *   PUT    /api/v1/vendor/regions/:countryCode                RegionFeaturesBody → RegionRow
 *
 * Installers' accounts are refused every /vendor route (403 VENDOR_ONLY); the vendor admin holds no installer
 * permission and sees no company's sites.
 */

export const AuthenticationStatus = { unauthenticated: 'unauthenticated', pending: 'pending', approved: 'approved', rejected: 'rejected' } as const;
export type AuthenticationStatus = (typeof AuthenticationStatus)[keyof typeof AuthenticationStatus];
const AuthenticationStatusSchema = literals(Object.values(AuthenticationStatus));

/**
 * Features whose availability depends on the company's country or region (manual §1.3.1, Tables 1-1 and 1-2).
 * A feature is available unless the region matrix says otherwise; the free-only countries have none of the
 * value-added ones.
 */
export const RegionFeature = {
  cloudStorage: 'cloud_storage',
  cloudAttendance: 'cloud_attendance',
  simData: 'sim_data',
  arcService: 'arc_service',
  employeeAddOn: 'employee_addon',
  /** Health Monitoring's linkage rules (not in the United States and Canada). */
  healthLinkage: 'health_linkage',
  /** Sign-in with the company's identity provider (SAML) and account sync (SCIM). */
  azureAdLogin: 'azure_ad_login',
  siteCollaboration: 'site_collaboration',
  companyMerger: 'company_merger',
  /** Co-branding free for a year after authentication with 3 devices added via P2P (§3.3.3: some regions). */
  coBrandingFreeYear: 'co_branding_free_year',
} as const;
export type RegionFeature = (typeof RegionFeature)[keyof typeof RegionFeature];
export const ALL_REGION_FEATURES: readonly RegionFeature[] = Object.values(RegionFeature);
/** The value-added services: unavailable in the free-only countries, and bought only by an authenticated company. */
export const VALUE_ADDED_FEATURES: readonly RegionFeature[] = [
  RegionFeature.cloudStorage,
  RegionFeature.cloudAttendance,
  RegionFeature.simData,
  RegionFeature.arcService,
  RegionFeature.employeeAddOn,
  RegionFeature.healthLinkage,
];
export const REGION_FEATURE_LABELS: Record<RegionFeature, string> = {
  cloud_storage: 'Cloud Storage Service',
  cloud_attendance: 'Cloud Attendance Service',
  sim_data: 'SIM Data Service',
  arc_service: 'Alarm Receiving Center (ARC) Service',
  employee_addon: 'Employee Account Add-On',
  health_linkage: 'Health Monitoring linkage rules',
  azure_ad_login: 'Azure AD Login',
  site_collaboration: 'Site Collaboration (ISP/MSP)',
  company_merger: 'Merge Companies',
  co_branding_free_year: 'Free co-branding year',
};

export const CompanyErrorCode = {
  /** The company's country or region does not have this feature. */
  featureUnavailable: 'FEATURE_UNAVAILABLE_IN_REGION',
  /** The feature needs an authenticated company (value-added services, co-branding). */
  companyNotAuthenticated: 'COMPANY_NOT_AUTHENTICATED',
  /** Only the Installer Admin may do this (authentication, Azure AD, mergers). */
  installerAdminOnly: 'INSTALLER_ADMIN_ONLY',
  vendorOnly: 'VENDOR_ONLY',
  /** A required authentication field of the region is missing or empty. */
  authenticationFieldsMissing: 'AUTHENTICATION_FIELDS_MISSING',
  /** Already pending review, or already approved. */
  authenticationState: 'AUTHENTICATION_STATE',
  companyNotFound: 'COMPANY_NOT_FOUND',
  notificationNotFound: 'NOTIFICATION_NOT_FOUND',
} as const;
export type CompanyErrorCode = (typeof CompanyErrorCode)[keyof typeof CompanyErrorCode];

export const CompanyProfileSchema = Type.Object({
  id: UuidSchema,
  name: Type.String(),
  type: Type.String(),
  countryCode: Type.String(),
  address: Type.String(),
  authStatus: AuthenticationStatusSchema,
  /** Features the company's region has. */
  features: Type.Array(Type.String()),
  rewardPoints: Type.Integer(),
  createdAt: IsoDateSchema,
});
export type CompanyProfile = Static<typeof CompanyProfileSchema>;

export const CompanyUpdateBodySchema = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })), address: Type.Optional(Type.String({ maxLength: 256 })) },
  { additionalProperties: false, minProperties: 1 },
);
export type CompanyUpdateBody = Static<typeof CompanyUpdateBodySchema>;

/** One field of the authentication form; which are required depends on the country or region. */
export const AuthenticationFieldSchema = Type.Object({ key: Type.String(), label: Type.String(), required: Type.Boolean() });
export type AuthenticationField = Static<typeof AuthenticationFieldSchema>;

export const CompanyAuthenticationSchema = Type.Object({
  companyId: UuidSchema,
  status: AuthenticationStatusSchema,
  fields: Type.Record(Type.String(), Type.String()),
  /** The form of the company's region. */
  form: Type.Array(AuthenticationFieldSchema),
  /** The reviewer's reason, on a rejection. */
  comment: Type.String(),
  submittedAt: Type.Union([IsoDateSchema, Type.Null()]),
  reviewedAt: Type.Union([IsoDateSchema, Type.Null()]),
});
export type CompanyAuthentication = Static<typeof CompanyAuthenticationSchema>;

export const AuthenticationSubmitBodySchema = Type.Object(
  { fields: Type.Record(Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,63}$' }), Type.String({ maxLength: 1024 }), { maxProperties: 32 }) },
  { additionalProperties: false },
);
export type AuthenticationSubmitBody = Static<typeof AuthenticationSubmitBodySchema>;

export const AuthenticationRejectBodySchema = Type.Object({ comment: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });

export const VendorAuthenticationsReplySchema = Type.Object({
  items: Type.Array(Type.Object({ ...CompanyAuthenticationSchema.properties, companyName: Type.String(), countryCode: Type.String(), companyType: Type.String() })),
});

export const RegionRowSchema = Type.Object({
  countryCode: Type.String(),
  /** Every feature with whether the region has it. */
  features: Type.Record(Type.String(), Type.Boolean()),
});
export type RegionRow = Static<typeof RegionRowSchema>;
/** The countries with at least one feature switched off, and the features' labels. */
export const RegionMatrixSchema = Type.Object({ features: Type.Array(Type.Object({ key: Type.String(), label: Type.String() })), rows: Type.Array(RegionRowSchema) });
export type RegionMatrix = Static<typeof RegionMatrixSchema>;
export const RegionFeaturesBodySchema = Type.Object(
  { features: Type.Record(Type.String(), Type.Boolean(), { minProperties: 1 }) },
  { additionalProperties: false },
);
export type RegionFeaturesBody = Static<typeof RegionFeaturesBodySchema>;

export const NotificationSchema = Type.Object({
  id: UuidSchema,
  /** What it is about: `company.authentication`, `employee.join_request`, `merger.invitation`, `collaboration.invitation`, ... */
  kind: Type.String(),
  title: Type.String(),
  body: Type.String(),
  /** Ids the portal links to (a merger request, a site). */
  data: Type.Record(Type.String(), Type.String()),
  createdAt: IsoDateSchema,
  readAt: Type.Union([IsoDateSchema, Type.Null()]),
});
export type Notification = Static<typeof NotificationSchema>;
export const NotificationsReplySchema = Type.Object({ items: Type.Array(NotificationSchema), unread: Type.Integer() });
