import {
  DEVICE_PERMISSION_LABELS,
  VALIDITY_LABELS,
  type HandoverBody,
  type HandoverOffer,
  type HandoverPermissionView,
  type HandoverStatus,
  type ResendHandoverBody,
  type SiteHandover,
} from '@vigil/protocol/api';
import { ApiError, errorMessage, request } from './api';

/** The portal's calls for handing a site over by transfer (protocol/src/api/handover.ts). */
const enc = encodeURIComponent;

export const handoverApi = {
  get: (siteId: string) => request<SiteHandover>('GET', `/sites/${enc(siteId)}/handover`),
  handOver: (siteId: string, body: HandoverBody) => request<SiteHandover>('POST', `/sites/${enc(siteId)}/handover`, { body }),
  resend: (siteId: string, body: ResendHandoverBody = {}) => request<SiteHandover>('POST', `/sites/${enc(siteId)}/handover/resend`, { body }),
  cancel: (siteId: string) => request<SiteHandover>('DELETE', `/sites/${enc(siteId)}/handover`),
  offer: (token: string) => request<HandoverOffer>('GET', `/handovers/${enc(token)}`),
  waiting: () => request<{ items: HandoverOffer[] }>('GET', '/customer/handovers'),
  /** `token`: the link's, which a QR code's handover needs (whoever holds it answers). */
  accept: (id: string, token?: string) => request<HandoverOffer>('POST', `/customer/handovers/${enc(id)}/accept${token ? `?token=${enc(token)}` : ''}`),
  reject: (id: string, token?: string) => request<HandoverOffer>('POST', `/customer/handovers/${enc(id)}/reject${token ? `?token=${enc(token)}` : ''}`),
};

/** The badge look of a handover's status: waiting, done, or over. */
export function handoverBadge(status: HandoverStatus): string {
  if (status === 'Accepted') return 'badge-online';
  if (status === 'NotRegistered' || status === 'ToBeAccepted') return 'badge-result-running';
  return 'badge-offline';
}

/** A permission the installer asks to keep, as both sides read it: "Live view (1 Hour): Door, Yard". */
export function askedPermissionText(p: HandoverPermissionView): string {
  const text = `${DEVICE_PERMISSION_LABELS[p.permission]} (${VALIDITY_LABELS[p.validity]})`;
  return p.devices.length > 0 ? `${text}: ${p.devices.map((d) => d.name).join(', ')}` : text;
}

/** The refusals of a handover, told to the installer or customer who met them. */
const REFUSAL_TEXT: Record<string, string> = {
  SITE_STATUS_FORBIDS: "The site's status does not allow this. A site is handed over only while it is Not Handed Over, and resent only while the handover waits.",
  SITE_HAS_NO_DEVICES: 'Add the devices to the site first: a site with no device that can be handed over cannot be handed over.',
  DEVICE_MANAGEMENT_REQUIRED: 'Configuration, Live view and Playback need the device management permission, which you do not have.',
  DEVICE_NOT_ON_SITE: 'One of the selected devices is no longer on this site. Reload the page and select again.',
  DEVICE_NOT_HANDOVER_CAPABLE: 'Devices added by IP/domain cannot be handed over.',
  HANDOVER_PERMISSIONS_INVALID: 'Select at least one device for each device permission you ask for.',
  INVALID_RECIPIENT: 'Enter an email address, or a mobile number with its country code, like +447700900123.',
  RECIPIENT_NOT_CUSTOMER: "This email or number belongs to an installer's account. Hand the site over to your customer.",
  HANDOVER_RESEND_LIMIT: 'The handover has been sent again 5 times today. You can send it again tomorrow.',
  HANDOVER_NOT_PENDING: 'This handover is no longer waiting for an answer.',
  HANDOVER_INVALIDATED: 'This handover has been replaced by a newer one. Use the link in the latest message.',
  HANDOVER_EXPIRED: 'This handover has expired. Ask your installer to send it again.',
  HANDOVER_NOT_FOUND: 'This handover link is not valid. Check that you copied the whole link.',
  NOT_RECIPIENT: 'This handover was sent to another account. Log in with the email or phone number it was sent to.',
};

export function handoverError(e: unknown): string {
  return e instanceof ApiError ? (REFUSAL_TEXT[e.code] ?? errorMessage(e)) : errorMessage(e);
}
