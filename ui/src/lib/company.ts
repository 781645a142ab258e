import type {
  AuthenticationStatus,
  CompanyAuthentication,
  CompanyProfile,
  CompanyUpdateBody,
  Notification,
  RegionMatrix,
  RegionRow,
} from '@vigil/protocol/api';
import { request } from './api';

const enc = encodeURIComponent;

/** An application as the vendor admin's review list shows it. */
export type ReviewedAuthentication = CompanyAuthentication & { companyName: string; countryCode: string; companyType: string };

/** The portal's calls for the company, its authentication, notifications and the vendor's pages (protocol/src/api/company.ts). */
export const companyApi = {
  profile: () => request<CompanyProfile>('GET', '/company'),
  updateProfile: (body: CompanyUpdateBody) => request<CompanyProfile>('PATCH', '/company', { body }),
  authentication: () => request<CompanyAuthentication>('GET', '/company/authentication'),
  submitAuthentication: (fields: Record<string, string>) => request<CompanyAuthentication>('PUT', '/company/authentication', { body: { fields } }),

  notifications: (unreadOnly = false) => request<{ items: Notification[]; unread: number }>('GET', '/notifications', { query: { unread: unreadOnly ? 1 : undefined } }),
  markRead: (id: string) => request<void>('POST', `/notifications/${enc(id)}/read`),

  reviewList: (status: AuthenticationStatus | '') => request<{ items: ReviewedAuthentication[] }>('GET', '/vendor/authentications', { query: { status } }),
  approve: (companyId: string) => request<CompanyAuthentication>('POST', `/vendor/authentications/${enc(companyId)}/approve`),
  reject: (companyId: string, comment: string) => request<CompanyAuthentication>('POST', `/vendor/authentications/${enc(companyId)}/reject`, { body: { comment } }),
  regions: () => request<RegionMatrix>('GET', '/vendor/regions'),
  setRegion: (countryCode: string, features: Record<string, boolean>) =>
    request<RegionRow>('PUT', `/vendor/regions/${enc(countryCode)}`, { body: { features } }),
};

export const AUTH_STATUS_LABELS: Record<AuthenticationStatus, string> = {
  unauthenticated: 'Not authenticated',
  pending: 'Waiting for review',
  approved: 'Authenticated',
  rejected: 'Rejected',
};


/** The shared badge look of each status. */
export const AUTH_STATUS_BADGES: Record<AuthenticationStatus, string> = {
  unauthenticated: 'badge-offline',
  pending: 'badge-result-running',
  approved: 'badge-online',
  rejected: 'badge-failed',
};
