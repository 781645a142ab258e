import type {
  AssignManagersBody,
  DeviceMove,
  DeviceMoveBody,
  DeviceMoveStatus,
  ManagerCandidate,
  MovableDevice,
  SiteGroup,
  SiteGroupAssignment,
  SiteManager,
  SitesManagersReply,
} from '@vigil/protocol/api';
import { ApiError, errorMessage, request } from './api';

/** The portal's calls for site groups, site managers and device moves (protocol/src/api/site-admin.ts). */
const enc = encodeURIComponent;

export const siteAdminApi = {
  groups: () => request<{ items: SiteGroup[] }>('GET', '/site-groups'),
  createGroup: (name: string) => request<SiteGroup>('POST', '/site-groups', { body: { name } }),
  renameGroup: (id: string, name: string) => request<SiteGroup>('PATCH', `/site-groups/${enc(id)}`, { body: { name } }),
  deleteGroup: (id: string) => request<void>('DELETE', `/site-groups/${enc(id)}`),
  addToGroup: (id: string, siteIds: string[]) => request<SiteGroup>('PUT', `/site-groups/${enc(id)}/sites`, { body: { siteIds } }),
  setSiteGroup: (siteId: string, groupId: string | null) => request<SiteGroupAssignment>('PUT', `/sites/${enc(siteId)}/group`, { body: { groupId } }),

  managers: (siteId: string) => request<{ items: SiteManager[] }>('GET', `/sites/${enc(siteId)}/managers`),
  managersOfSites: (siteIds: string[]) => request<SitesManagersReply>('GET', '/site-managers', { query: { siteIds: siteIds.join(',') } }),
  candidates: () => request<{ items: ManagerCandidate[] }>('GET', '/site-managers/candidates'),
  assign: (body: AssignManagersBody) => request<SitesManagersReply>('POST', '/site-managers', { body }),
  setValidity: (siteId: string, accountId: string, expiresAt: string | null) =>
    request<SiteManager>('PATCH', `/sites/${enc(siteId)}/managers/${enc(accountId)}`, { body: { expiresAt } }),
  removeManager: (siteId: string, accountId: string) => request<void>('DELETE', `/sites/${enc(siteId)}/managers/${enc(accountId)}`),

  movableDevices: (siteId: string) => request<{ items: MovableDevice[] }>('GET', `/sites/${enc(siteId)}/movable-devices`),
  moves: (siteId: string) => request<{ items: DeviceMove[] }>('GET', `/sites/${enc(siteId)}/device-moves`),
  moveDevices: (siteId: string, body: DeviceMoveBody) => request<DeviceMove>('POST', `/sites/${enc(siteId)}/device-moves`, { body }),
  myMoves: () => request<{ items: DeviceMove[] }>('GET', '/customer/device-moves'),
  approveMove: (id: string) => request<DeviceMove>('POST', `/customer/device-moves/${enc(id)}/approve`),
  rejectMove: (id: string) => request<DeviceMove>('POST', `/customer/device-moves/${enc(id)}/reject`),
};

/** The validities the assign pane offers; "custom" takes an end date. */
export const VALIDITY_CHOICES = [
  { value: 'lifetime', label: 'Lifetime' },
  { value: '1d', label: '1 day' },
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
  { value: '90d', label: '90 days' },
  { value: 'custom', label: 'Until a date' },
] as const;
export type ValidityChoice = (typeof VALIDITY_CHOICES)[number]['value'];

const DAY_MS = 86_400_000;

/** The expiry a choice means (null: Lifetime); a custom one is the end of the given local date. */
export function expiryOf(choice: ValidityChoice, customDate: string): string | null {
  if (choice === 'lifetime') return null;
  if (choice === 'custom') return customDate ? new Date(`${customDate}T23:59:59`).toISOString() : null;
  return new Date(Date.now() + Number.parseInt(choice, 10) * DAY_MS).toISOString();
}

/** What is left of a validity, for the Site Manager column: "Lifetime", "3 d 4 h", "25 min", "Expired". */
export function countdown(expiresAt: string | null, now: number): string {
  if (expiresAt === null) return 'Lifetime';
  const left = new Date(expiresAt).getTime() - now;
  if (left <= 0) return 'Expired';
  const minutes = Math.ceil(left / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes % 60} min`;
  return `${minutes} min`;
}

export const MOVE_STATUS_LABELS: Record<DeviceMoveStatus, string> = { Pending: 'Waiting for the owner', Approved: 'Moved', Rejected: 'Rejected' };

export function moveBadge(status: DeviceMoveStatus): string {
  return status === 'Approved' ? 'badge-online' : status === 'Pending' ? 'badge-result-running' : 'badge-offline';
}

/** The refusals of this domain, told to the person who acted. */
const REFUSAL_TEXT: Record<string, string> = {
  SITE_GROUP_NAME_TAKEN: 'A group with this name exists already. Choose another name.',
  GROUP_PERSONAL_ONLY: 'Only personal sites can be grouped.',
  SITE_STATUS_FORBIDS: "The site's status does not allow this.",
  SITE_MANAGER_LIMIT: 'A site can have at most 100 site managers.',
  LIFETIME_MANAGER_REQUIRED: 'At least one site manager of each site must have the validity Lifetime.',
  MANAGE_ALL_IS_LIFETIME: 'Accounts with Manage All Sites are always Lifetime site managers.',
  MANAGER_EXPIRY_PAST: 'The validity must end in the future.',
  MANAGER_NOT_ELIGIBLE: 'Only enabled installer accounts of your company can be site managers.',
  DEVICE_NOT_P2P: 'Only devices added by Hik-Connect (P2P) can be moved.',
  TARGET_IS_TENANT_SITE: 'Devices cannot move to a site shared with tenant customers.',
  DIFFERENT_OWNER: 'The target site belongs to another Site Owner.',
  DEVICE_MOVE_PENDING: 'A selected device is already waiting for the owner to approve a move.',
};

export function siteAdminError(e: unknown): string {
  if (!(e instanceof ApiError)) return errorMessage(e);
  const text = REFUSAL_TEXT[e.code];
  // The server's sentence names the site or account concerned; the short text explains the rule.
  return text && text !== e.message ? `${text} ${e.message}` : errorMessage(e);
}
