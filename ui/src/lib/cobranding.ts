import type {
  CoBranding,
  CoBrandingOrderBody,
  CoBrandingSource,
  LogoContentType,
  MintServiceKeysBody,
  ServiceKeysReply,
  SiteBranding,
} from '@vigil/protocol/api';
import { request } from './api';

/** The portal's calls for co-branding and service keys (protocol/src/api/cobranding.ts). */
const enc = encodeURIComponent;

export const coBrandingApi = {
  get: () => request<CoBranding>('GET', '/company/co-branding'),
  setEnabled: (enabled: boolean) => request<CoBranding>('PUT', '/company/co-branding', { body: { enabled } }),
  uploadLogo: (contentType: LogoContentType, data: string) => request<CoBranding>('PUT', '/company/co-branding/logo', { body: { contentType, data } }),
  removeLogo: () => request<CoBranding>('DELETE', '/company/co-branding/logo'),
  purchase: (body: CoBrandingOrderBody) => request<CoBranding>('POST', '/company/co-branding/orders', { body }),
  redeemKeys: (keys: string) => request<CoBranding>('POST', '/company/co-branding/service-keys', { body: { keys } }),
  redeemPoints: (months: number) => request<CoBranding>('POST', '/company/co-branding/redeem-points', { body: { months } }),
  claimFreeYear: () => request<CoBranding>('POST', '/company/co-branding/free-year'),

  serviceKeys: () => request<ServiceKeysReply>('GET', '/vendor/service-keys'),
  mintServiceKeys: (body: MintServiceKeysBody) => request<ServiceKeysReply>('POST', '/vendor/service-keys', { body }),

  siteBranding: (siteId: string) => request<SiteBranding>('GET', `/customer/sites/${enc(siteId)}/branding`),
};

/** The stored logo, for the admin's preview; the address changes with the logo so the browser fetches a new one. */
export const companyLogoUrl = (version: string): string => `/api/v1/company/co-branding/logo?v=${enc(version)}`;

export const SOURCE_LABELS: Record<CoBrandingSource, string> = {
  purchase: 'Online purchase',
  service_key: 'Service key',
  reward_points: 'Reward points',
  free_promo: 'Free offer',
};

/** A file's bytes as base64, for a JSON body. */
export function readAsBase64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(',') + 1));
    };
    reader.onerror = () => reject(new Error('The file cannot be read.'));
    reader.readAsDataURL(file);
  });
}
