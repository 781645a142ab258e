import {
  DEVICE_PERMISSION_LABELS,
  VALIDITY_LABELS,
  type DeviceInvitation,
  type DeviceInvitationBody,
  type DevicePermissionName,
  type Grant,
  type GrantStatus,
  type InvitableDevice,
  type PendingApplication,
  type PermissionApplicationBody,
  type SiteAccessReply,
  type Validity,
} from '@vigil/protocol/api';
import { ApiError, errorMessage, request } from './api';
import { formatDuration } from './format';

/** The portal's calls for site authorization, device permissions and device invitations (protocol/src/api/grants.ts). */
const enc = encodeURIComponent;

export const grantsApi = {
  // The installer's side.
  sitePermissions: (siteId: string) => request<{ items: Grant[] }>('GET', `/sites/${enc(siteId)}/permissions`),
  applySiteAuthorization: (siteId: string, remark: string) => request<Grant>('POST', `/sites/${enc(siteId)}/authorization`, { body: remark ? { remark } : {} }),
  applyDevicePermissions: (siteId: string, body: PermissionApplicationBody) => request<{ items: Grant[] }>('POST', `/sites/${enc(siteId)}/permission-applications`, { body }),
  release: (siteId: string, id: string) => request<Grant>('POST', `/sites/${enc(siteId)}/permissions/${enc(id)}/release`),
  myInvitations: () => request<{ items: DeviceInvitation[] }>('GET', '/device-invitations'),
  acceptInvitation: (id: string) => request<DeviceInvitation>('POST', `/device-invitations/${enc(id)}/accept`),
  declineInvitation: (id: string) => request<DeviceInvitation>('POST', `/device-invitations/${enc(id)}/decline`),

  // The customer's side.
  pendingApplications: () => request<{ items: PendingApplication[] }>('GET', '/customer/permission-applications'),
  approve: (id: string) => request<Grant>('POST', `/customer/permission-applications/${enc(id)}/approve`),
  deny: (id: string) => request<Grant>('POST', `/customer/permission-applications/${enc(id)}/deny`),
  siteAccess: (siteId: string) => request<SiteAccessReply>('GET', `/customer/sites/${enc(siteId)}/access`),
  revoke: (siteId: string, id: string) => request<Grant>('POST', `/customer/sites/${enc(siteId)}/access/${enc(id)}/revoke`),
  sentInvitations: () => request<{ items: DeviceInvitation[] }>('GET', '/customer/device-invitations'),
  invitableDevices: () => request<{ items: InvitableDevice[] }>('GET', '/customer/device-invitations/devices'),
  invite: (body: DeviceInvitationBody) => request<DeviceInvitation>('POST', '/customer/device-invitations', { body }),
};

export const permissionLabel = (p: string): string => DEVICE_PERMISSION_LABELS[p as DevicePermissionName] ?? p;
export const validityLabel = (v: string): string => VALIDITY_LABELS[v as Validity] ?? v;

export const GRANT_STATUS_LABELS: Record<GrantStatus, string> = {
  pending: 'Waiting for the customer',
  approved: 'Approved',
  denied: 'Denied',
  released: 'Released',
  expired: 'Expired',
};

/** The badge look of a grant's or invitation's status: in force, waiting, or over. */
export function grantBadge(status: string): string {
  if (status === 'approved' || status === 'Accepted') return 'badge-online';
  if (status === 'pending' || status === 'Pending') return 'badge-result-running';
  return 'badge-offline';
}

/** "Until when" of a grant: Permanent, the time left of an approved one, or nothing. */
export function untilText(grant: Pick<Grant, 'status' | 'expiresAt' | 'validity'>, now: number): string {
  if (grant.status === 'pending') return validityLabel(grant.validity);
  if (grant.status !== 'approved') return '—';
  if (grant.expiresAt === null) return 'Permanent';
  const left = Math.max(0, Math.round((Date.parse(grant.expiresAt) - now) / 1000));
  return left === 0 ? 'Expiring' : `${formatDuration(left)} left`;
}

/** The refusals a person can act on, in plain words. */
const REFUSAL_TEXT: Record<string, string> = {
  SITE_STATUS_FORBIDS: "The site's status does not allow this now.",
  APPLICATION_PENDING: 'An application for this is already waiting for the customer.',
  INVALID_VALIDITY: 'Choose a validity period: Permanent, 1 hour, 2, 4 or 8 hours.',
  PERMISSIONS_KEPT: 'This site is shared with all device permissions kept: there is nothing to apply for.',
  NOT_REVIEWER: 'Only the site owner, or the Customer Administrator of a shared site, decides this.',
  NOT_AN_INSTALLER: 'No installer account has this email. Ask your installer for the email of its account.',
  DEVICE_NOT_INVITABLE: 'One of the devices cannot move to an installer: only devices that connect by themselves can.',
  NOT_INVITEE: 'This invitation is addressed to another account.',
  INVITATION_EXPIRED: 'This invitation has expired. Ask the customer to invite you again.',
  INVITATION_STALE: "Some of the invitation's devices are no longer the customer's. Ask the customer to invite you again.",
  SITE_NAME_TAKEN: 'Your company already has a site of this name for another customer. Rename that site, then accept again.',
};

export function grantError(e: unknown): string {
  return e instanceof ApiError ? (REFUSAL_TEXT[e.code] ? `${REFUSAL_TEXT[e.code]} (${e.message})` : errorMessage(e)) : errorMessage(e);
}
