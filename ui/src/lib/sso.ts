import { SsoErrorCode, type Role, type SsoConfig, type SsoUpdateBody } from '@vigil/protocol/api';
import { request } from './api';

/** The portal's calls for Azure AD login (protocol/src/api/sso.ts). */
export const ssoApi = {
  config: () => request<SsoConfig>('GET', '/company/sso'),
  uploadMetadata: (metadataXml: string) => request<SsoConfig>('PUT', '/company/sso/metadata', { body: { metadataXml } }),
  update: (body: SsoUpdateBody) => request<SsoConfig>('PATCH', '/company/sso', { body }),
  newScimToken: () => request<{ token: string; scimTenantUrl: string }>('POST', '/company/sso/scim-token'),
  roles: () => request<{ items: Role[] }>('GET', '/roles'),
  /** "Log In via Azure AD": where the browser goes to sign in with the company's identity provider. */
  start: (email: string) => request<{ redirectUrl: string }>('POST', '/auth/sso', { body: { email } }),
};

/** What the login page says when the identity provider's answer was refused (`/login?sso_error=CODE`). */
const SSO_ERROR_MESSAGES: Record<string, string> = {
  [SsoErrorCode.unavailable]: 'This account cannot log in via Azure AD. Log in with your password, or ask your company’s administrator.',
  [SsoErrorCode.assertionInvalid]: 'The sign-in answer from Azure AD could not be verified. Start again with “Log in via Azure AD”.',
  [SsoErrorCode.accountNotAllowed]: 'Only work or school accounts of your company’s Azure AD can log in here, not guest or personal accounts.',
  [SsoErrorCode.accountDisabled]: 'This account has been disabled by its company.',
  [SsoErrorCode.loginDisabled]: 'Your company has turned Azure AD login off.',
};

export function ssoErrorMessage(code: string): string {
  return SSO_ERROR_MESSAGES[code] ?? 'Logging in via Azure AD failed. Try again, or log in with your password.';
}
