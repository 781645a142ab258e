import {
  VALIDITY_LABELS,
  type AddRecipientsBody,
  type CustomerSharingsReply,
  type EditRecipientBody,
  type SharedDevice,
  type SharedDeviceBody,
  type SharingBody,
  type SharingOffer,
  type SharingRecipientStatus,
  type SiteSharing,
} from '@vigil/protocol/api';
import { ApiError, errorMessage, request } from './api';
import { permissionLabel } from './grants';

/** The portal's calls for handing a site over by sharing (protocol/src/api/sharing.ts). */
const enc = encodeURIComponent;
const recipientPath = (siteId: string, id: string) => `/sites/${enc(siteId)}/sharing/recipients/${enc(id)}`;

export const sharingApi = {
  get: (siteId: string) => request<SiteSharing>('GET', `/sites/${enc(siteId)}/sharing`),
  share: (siteId: string, body: SharingBody) => request<SiteSharing>('POST', `/sites/${enc(siteId)}/sharing`, { body }),
  addRecipients: (siteId: string, body: AddRecipientsBody) => request<SiteSharing>('POST', `/sites/${enc(siteId)}/sharing/recipients`, { body }),
  reshare: (siteId: string, id: string) => request<SiteSharing>('POST', `${recipientPath(siteId, id)}/reshare`),
  cancel: (siteId: string, id: string) => request<SiteSharing>('POST', `${recipientPath(siteId, id)}/cancel`),
  edit: (siteId: string, id: string, body: EditRecipientBody) => request<SiteSharing>('PATCH', recipientPath(siteId, id), { body }),
  setDevices: (siteId: string, id: string, devices: SharedDeviceBody[]) => request<SiteSharing>('PUT', `${recipientPath(siteId, id)}/devices`, { body: { devices } }),

  offer: (token: string) => request<SharingOffer>('GET', `/sharings/${enc(token)}`),
  mine: () => request<CustomerSharingsReply>('GET', '/customer/sharings'),
  accept: (id: string) => request<SharingOffer>('POST', `/customer/sharings/${enc(id)}/accept`),
  reject: (id: string) => request<SharingOffer>('POST', `/customer/sharings/${enc(id)}/reject`),
};

/** The badge look of a recipient's status: in force, waiting, or over. */
export function sharingBadge(status: SharingRecipientStatus): string {
  if (status === 'Accepted') return 'badge-online';
  if (status === 'ToBeAccepted' || status === 'NotRegistered') return 'badge-result-running';
  return status === 'Rejected' ? 'badge-failed' : 'badge-offline';
}

/** What a customer may do with a shared device, and for how long: "Live view, Playback · 1 Hour". */
export function sharedDeviceText(d: SharedDevice): string {
  return `${d.permissions.map(permissionLabel).join(', ')} · ${VALIDITY_LABELS[d.validity]}`;
}

/** The refusals, told to the person filling in the form. */
const REFUSAL_TEXT: Record<string, string> = {
  SHARING_PERSONAL_ONLY: 'Only a personal site can be handed over by sharing. Hand a team site over by transferring.',
  CUSTOMER_ADMIN_REQUIRED: 'Choose one customer as the Customer Administrator, who reviews your permission applications.',
  CUSTOMER_ADMIN_NOT_UNIQUE: 'Only one customer can be the Customer Administrator.',
  ARC_PERMISSIONS_REQUIRED: 'This site has the ARC service: ask for both PIRCAM GIF and Video Clips.',
  RECIPIENT_NOT_CUSTOMER: "This address belongs to an installer's account. Use your customer's own email or phone number.",
  DUPLICATE_RECIPIENT: 'This customer is listed twice, or the site is shared with them already.',
  SITE_STATUS_FORBIDS: "The site's status does not allow this.",
};

export function sharingError(e: unknown): string {
  // The share limit and address refusals name the device or the address: the server's sentence says it best.
  return e instanceof ApiError ? (REFUSAL_TEXT[e.code] ?? errorMessage(e)) : errorMessage(e);
}
