/**
 * Named permissions. The Installer Admin holds all of them; employees hold what their role grants
 * (roles arrive with company management). Every route names the permissions it needs.
 */
export const Permission = {
  /** See and manage every site of the company. */
  siteManageAll: 'site.manage_all',
  /** See and manage only the sites the employee is assigned to. */
  siteManageAssigned: 'site.manage_assigned',
  /** Add, remove and operate edge boxes and devices. */
  deviceManage: 'device.manage',
  /** Change device configuration remotely. */
  deviceConfigure: 'device.configure',
  liveView: 'video.live_view',
  playback: 'video.playback',
  /** Manage employees, roles, and see every employee's operation log. */
  accountsManage: 'accounts.manage',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];
export const ALL_PERMISSIONS: readonly Permission[] = Object.values(Permission);
