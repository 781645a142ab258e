import Type, { type Static } from 'typebox';
import { literals } from './common.js';
import { SiteStatus } from './sites.js';

/**
 * What a site's status allows (manual §3.3, Table 3-12), and the permissions an installer company holds on a
 * handed-over site's devices (§3.3.7). The server checks both on every operation the table names; the portal reads
 * the same table to hide what the status does not allow.
 */

/** The operations of Table 3-12, plus resending a handover that is waiting (allowed by §3.3.2 for those states). */
export const SiteOperation = {
  search: 'search',
  assignManagers: 'assign_managers',
  transfer: 'transfer',
  resendHandover: 'resend_handover',
  share: 'share',
  manageDevice: 'manage_device',
  editSite: 'edit_site',
  deleteSite: 'delete_site',
  applySiteAuthorization: 'apply_site_authorization',
  applyDevicePermissions: 'apply_device_permissions',
  collaborate: 'collaborate',
  batchShareDevices: 'batch_share_devices',
  moveToGroup: 'move_to_group',
} as const;
export type SiteOperation = (typeof SiteOperation)[keyof typeof SiteOperation];

const S = SiteStatus;
const ALL: readonly SiteStatus[] = Object.values(SiteStatus);
const waiting: readonly SiteStatus[] = [S.notRegistered, S.toBeAccepted];

/** Table 3-12: the statuses in which each operation is allowed. */
export const SITE_OPERATION_STATUSES: Record<SiteOperation, readonly SiteStatus[]> = {
  search: ALL,
  assign_managers: ALL.filter((s) => s !== S.disbanded),
  transfer: [S.notHandedOver],
  resend_handover: waiting,
  share: [S.notHandedOver],
  manage_device: [S.notHandedOver, ...waiting, S.authorizedAndMonitoring, S.shared],
  edit_site: [S.notHandedOver, ...waiting, S.authorizedAndMonitoring, S.shared],
  delete_site: ALL,
  apply_site_authorization: [S.handedOverNotAuthorized],
  apply_device_permissions: [S.handedOverNotAuthorized, S.authorizedAndMonitoring, S.shared],
  collaborate: [S.notHandedOver, S.authorizedAndMonitoring],
  batch_share_devices: [S.shared],
  move_to_group: ALL.filter((s) => s !== S.disbanded),
};

export const SITE_OPERATION_LABELS: Record<SiteOperation, string> = {
  search: 'Search Site',
  assign_managers: 'Assign Site',
  transfer: 'Hand Over by Transferring',
  resend_handover: 'Resend Handover',
  share: 'Hand Over by Sharing',
  manage_device: 'Manage Device',
  edit_site: 'Edit Site',
  delete_site: 'Delete Site',
  apply_site_authorization: 'Apply for Site Authorization',
  apply_device_permissions: 'Apply for Device Permissions',
  collaborate: 'Site Collaboration',
  batch_share_devices: 'Batch Share Devices',
  move_to_group: 'Move to Group',
};

export const siteOperationAllowed = (op: SiteOperation, status: SiteStatus): boolean => SITE_OPERATION_STATUSES[op].includes(status);

/** Before a transfer is accepted the company still holds the site's devices; afterwards it needs the owner's grants. */
export const PRE_HANDOVER_STATUSES: readonly SiteStatus[] = [S.notHandedOver, ...waiting];

/** What an installer company may hold on a handed-over site (deviceless) or device, as the customer grants it. */
export const DevicePermissionName = {
  siteAuthorization: 'SiteAuthorization',
  manageSiteInformation: 'ManageSiteInformation',
  configuration: 'Configuration',
  liveView: 'LiveView',
  playback: 'Playback',
} as const;
export type DevicePermissionName = (typeof DevicePermissionName)[keyof typeof DevicePermissionName];
/** The three a device can be granted (the others are for the whole site). */
export const DEVICE_USES = [DevicePermissionName.configuration, DevicePermissionName.liveView, DevicePermissionName.playback] as const;
export type DeviceUse = (typeof DEVICE_USES)[number];
export const DevicePermissionNameSchema = literals(Object.values(DevicePermissionName));
export const DeviceUseSchema = literals(DEVICE_USES);

export const DEVICE_PERMISSION_LABELS: Record<DevicePermissionName, string> = {
  SiteAuthorization: 'Site authorization',
  ManageSiteInformation: 'Manage site information',
  Configuration: 'Configuration',
  LiveView: 'Live view',
  Playback: 'Playback',
};

/** The validity periods the manual offers (§3.3.7); also used for handover and sharing permissions. */
export const Validity = { permanent: 'Permanent', h1: '1h', h2: '2h', h4: '4h', h8: '8h' } as const;
export type Validity = (typeof Validity)[keyof typeof Validity];
export const ValiditySchema = literals(Object.values(Validity));
export const VALIDITY_LABELS: Record<Validity, string> = { Permanent: 'Permanent', '1h': '1 Hour', '2h': '2 Hours', '4h': '4 Hours', '8h': '8 Hours' };
/** Hours of each validity; null for Permanent. */
export const VALIDITY_HOURS: Record<Validity, number | null> = { Permanent: null, '1h': 1, '2h': 2, '4h': 4, '8h': 8 };

/** Refusals of the status table and of device permissions. */
export const SiteStatusErrorCode = {
  /** 409: the site's status does not allow the operation (Table 3-12). */
  statusForbids: 'SITE_STATUS_FORBIDS',
  /** 403: the site is handed over and the company holds no usable grant for this use of the device. */
  devicePermissionRequired: 'DEVICE_PERMISSION_REQUIRED',
  /** 403: the grant existed but has expired (or was released). */
  devicePermissionExpired: 'DEVICE_PERMISSION_EXPIRED',
  /** 403: a customer-only route called by an installer account, or the reverse. */
  customerOnly: 'CUSTOMER_ONLY',
} as const;
export type SiteStatusErrorCode = (typeof SiteStatusErrorCode)[keyof typeof SiteStatusErrorCode];

/** A grant as both sides see it: who holds what on which device until when. */
export const DeviceGrantSchema = Type.Object({
  id: Type.String(),
  siteId: Type.String(),
  deviceId: Type.Union([Type.String(), Type.Null()]),
  deviceName: Type.Union([Type.String(), Type.Null()]),
  companyId: Type.String(),
  companyName: Type.String(),
  permission: DevicePermissionNameSchema,
  validity: ValiditySchema,
  /** pending, approved, denied, released, expired (approved and past its expiry). */
  status: literals(['pending', 'approved', 'denied', 'released', 'expired']),
  source: Type.Union([Type.Literal('handover'), Type.Literal('application')]),
  remark: Type.String(),
  applicantName: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  decidedAt: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
});
export type DeviceGrant = Static<typeof DeviceGrantSchema>;
