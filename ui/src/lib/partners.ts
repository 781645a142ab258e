import type { Collaboration, CollaborationBody, CollaborationStatus, CollaborationType, Merger, MergerFailure, MergerStatus } from '@vigil/protocol/api';
import { ApiError, errorMessage, request } from './api';

/** The portal's calls for site collaboration and company mergers (protocol/src/api/partners.ts). */
const enc = encodeURIComponent;

export const partnersApi = {
  siteCollaborations: (siteId: string) => request<{ items: Collaboration[] }>('GET', `/sites/${enc(siteId)}/collaborations`),
  invite: (siteId: string, body: CollaborationBody) => request<Collaboration>('POST', `/sites/${enc(siteId)}/collaborations`, { body }),
  cancel: (siteId: string, id: string) => request<void>('DELETE', `/sites/${enc(siteId)}/collaborations/${enc(id)}`),
  myCollaborations: () => request<{ items: Collaboration[] }>('GET', '/collaborations'),
  accept: (id: string) => request<Collaboration>('POST', `/collaborations/${enc(id)}/accept`),
  decline: (id: string) => request<Collaboration>('POST', `/collaborations/${enc(id)}/decline`),

  mergers: () => request<{ items: Merger[] }>('GET', '/company/mergers'),
  inviteMerger: (invitedAdminEmail: string) => request<Merger>('POST', '/company/mergers', { body: { invitedAdminEmail } }),
  acceptMerger: (id: string) => request<Merger>('POST', `/company/mergers/${enc(id)}/accept`),
  rejectMerger: (id: string) => request<Merger>('POST', `/company/mergers/${enc(id)}/reject`),
  allMergers: () => request<{ items: Merger[] }>('GET', '/vendor/mergers'),
  startMerger: (initiatorCompanyId: string, invitedCompanyId: string) =>
    request<Merger>('POST', '/vendor/mergers', { body: { initiatorCompanyId, invitedCompanyId } }),
};

export const COLLABORATION_TYPE_LABELS: Record<CollaborationType, string> = {
  isp: 'Installation service partner (ISP)',
  msp: 'Maintenance service partner (MSP)',
};

export const COLLABORATION_STATUS_LABELS: Record<CollaborationStatus, string> = {
  invited: 'Invited',
  active: 'Active',
  declined: 'Declined',
  cancelled: 'Cancelled',
  ended: 'Ended at handover',
};

/** The badge look of a collaboration's or merger's status: in force, waiting, failed, or over. */
export function statusBadge(status: string): string {
  if (status === 'active' || status === 'completed') return 'badge-online';
  if (status === 'invited' || status === 'pending') return 'badge-result-running';
  return status === 'failed' ? 'badge-failed' : 'badge-offline';
}

/** The refusals of an invitation, told to the person who typed the email. */
const REFUSAL_TEXT: Record<string, string> = {
  UNKNOWN_ACCOUNT: 'No installer account has this email. Check it with your partner.',
  OWN_COMPANY_ACCOUNT: 'This is an account of your own company. Invite an account of the partner company instead.',
  REGION_MISMATCH: 'This account belongs to a company in another country or region. Partners must be in your country or region.',
  ISP_WITHOUT_SITE_PERMISSION: 'An ISP account needs the Manage All Sites or Manage Assigned Sites permission, which this account does not have.',
  MSP_NOT_INSTALLER_ADMIN: "An MSP is invited through its Installer Admin account. Ask for the MSP company's Installer Admin email.",
  ALREADY_COLLABORATING: 'This account is already invited to or collaborating on this site.',
  SITE_STATUS_FORBIDS: 'An ISP can be invited only before the site is handed over, and an MSP only once the site is handed over and authorized.',
  FEATURE_UNAVAILABLE_IN_REGION: 'Site collaboration is not available in your country or region.',
};

export function collaborationError(e: unknown): string {
  return e instanceof ApiError ? (REFUSAL_TEXT[e.code] ?? errorMessage(e)) : errorMessage(e);
}

export const MERGER_STATUS_LABELS: Record<MergerStatus, string> = {
  pending: 'Pending',
  rejected: 'Rejected',
  failed: 'Failed',
  completed: 'Completed',
};

/** The manual's reasons a merger is refused or fails, in its words. HC_LINKED is listed though not checked yet. */
export const MERGER_FAILURE_LABELS: Record<MergerFailure, string> = {
  NOT_ELIGIBLE_ACCOUNT: "The invited account is not another company's Installer Admin.",
  REGION_MISMATCH: 'The two companies are in different countries or regions.',
  CHANNEL_PARTNER: 'The invited company is an authenticated channel partner.',
  IN_ARC_LIST: 'The invited company is on the ARC list.',
  HAS_DEVICES: 'The invited company has devices.',
  HAS_HANDED_OVER_SITES: 'The invited company has handed-over sites.',
  HC_LINKED: 'The invited account is linked with a customer account.',
  ACTIVE_VAS: 'The invited company has value-added services still in use.',
};

export function mergerError(e: unknown): string {
  return e instanceof ApiError ? (MERGER_FAILURE_LABELS[e.code as MergerFailure] ?? errorMessage(e)) : errorMessage(e);
}

/** Whose answer a pending merger waits for: the invited company first, then the initiator. */
export function awaitedCompany(m: Merger): string | null {
  if (m.status !== 'pending') return null;
  return m.invitedAccepted ? m.initiatorCompanyId : m.invitedCompanyId;
}
