import Type, { type Static } from 'typebox';
import { IsoDateSchema, UuidSchema } from './common.js';

/**
 * Sign-in with the company's identity provider (manual §3.4.3, "Azure AD Login"): SAML 2.0 for signing in, SCIM 2.0
 * for creating, updating and deactivating the employees. One identity-provider tenant belongs to exactly one
 * company; only the tenant's own (work) accounts may sign in, never guests or personal accounts.
 *
 * Installer Admin only, region feature `azure_ad_login`:
 *   GET    /api/v1/company/sso                         → SsoConfig (404 SSO_NOT_CONFIGURED before the metadata)
 *   PUT    /api/v1/company/sso/metadata                SsoMetadataBody → SsoConfig (409 SSO_TENANT_TAKEN)
 *   PATCH  /api/v1/company/sso                         SsoUpdateBody → SsoConfig (default role: for accounts synced from now on)
 *   POST   /api/v1/company/sso/scim-token              → ScimTokenReply (a new secret token; the old one stops working)
 *
 * Public:
 *   GET    /api/v1/sso/saml/:companyId/metadata        the SP's metadata XML (entity ID, reply URL)
 *   POST   /api/v1/auth/sso                            SsoStartBody → SsoStartReply (where the browser goes next)
 *   POST   /api/v1/sso/saml/:companyId/acs             the IdP's form post (SAMLResponse, RelayState) → 303 to the
 *                                                      portal, signed in; a refusal → 303 to /login?sso_error=CODE
 *   /scim/v2/Users, /scim/v2/Users/:id                 SCIM 2.0 (RFC 7644), Authorization: Bearer {secret token};
 *   /scim/v2/ServiceProviderConfig, /ResourceTypes, /Schemas;  /scim/v2/Groups → 501 (group provisioning is not
 *                                                      supported: switch "Provision Groups" off)
 */

export const SsoErrorCode = {
  notConfigured: 'SSO_NOT_CONFIGURED',
  /** The metadata document is not a SAML IdP metadata with an entity ID, a redirect SSO URL and a signing certificate. */
  metadataInvalid: 'SSO_METADATA_INVALID',
  /** The identity provider's tenant is bound to another company. */
  tenantTaken: 'SSO_TENANT_TAKEN',
  /** No account signs in with this email through an identity provider (or the company's login is off). */
  unavailable: 'SSO_UNAVAILABLE',
  /** The assertion failed: signature, issuer, audience, time, replay, InResponseTo. */
  assertionInvalid: 'SSO_ASSERTION_INVALID',
  /** A guest or personal account, or an account of another tenant. */
  accountNotAllowed: 'SSO_ACCOUNT_NOT_ALLOWED',
  /** The account was deactivated (SCIM active=false or by the company). */
  accountDisabled: 'ACCOUNT_DISABLED',
  loginDisabled: 'SSO_LOGIN_DISABLED',
} as const;
export type SsoErrorCode = (typeof SsoErrorCode)[keyof typeof SsoErrorCode];

export const SsoConfigSchema = Type.Object({
  /** What the admin enters in the identity provider ("Basic SAML Configuration"). */
  spEntityId: Type.String(),
  replyUrl: Type.String(),
  idpEntityId: Type.String(),
  idpSsoUrl: Type.String(),
  /** The identity provider's tenant (from its entity ID). */
  tenantId: Type.String(),
  /** Signing certificates' SHA-256 fingerprints and ends of validity. */
  certificates: Type.Array(Type.Object({ fingerprint: Type.String(), notAfter: IsoDateSchema })),
  defaultRoleId: Type.Union([UuidSchema, Type.Null()]),
  /** "Tenant URL" for the identity provider's provisioning. */
  scimTenantUrl: Type.String(),
  /** Whether a secret token has been made (it is shown once, when made). */
  scimTokenSet: Type.Boolean(),
  loginEnabled: Type.Boolean(),
  syncEnabled: Type.Boolean(),
  updatedAt: IsoDateSchema,
});
export type SsoConfig = Static<typeof SsoConfigSchema>;

export const SsoMetadataBodySchema = Type.Object({ metadataXml: Type.String({ minLength: 1, maxLength: 200_000 }) }, { additionalProperties: false });
export const SsoUpdateBodySchema = Type.Object(
  {
    defaultRoleId: Type.Optional(Type.Union([UuidSchema, Type.Null()])),
    loginEnabled: Type.Optional(Type.Boolean()),
    syncEnabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type SsoUpdateBody = Static<typeof SsoUpdateBodySchema>;
export const ScimTokenReplySchema = Type.Object({ token: Type.String(), scimTenantUrl: Type.String() });

export const SsoStartBodySchema = Type.Object({ email: Type.String({ format: 'email', maxLength: 254 }) }, { additionalProperties: false });
export const SsoStartReplySchema = Type.Object({ redirectUrl: Type.String() });

/** The SAML attribute names the identity provider sends (Microsoft Entra ID's claim URIs). */
export const SamlClaim = {
  tenantId: 'http://schemas.microsoft.com/identity/claims/tenantid',
  identityProvider: 'http://schemas.microsoft.com/identity/claims/identityprovider',
  objectId: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
  email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  name: 'http://schemas.microsoft.com/identity/claims/displayname',
} as const;
