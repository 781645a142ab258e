import type { LanDeviceClass, PingLevel } from '@vigil/protocol';
import type { LanDevice } from '@vigil/protocol/api';

/** What each class of discovered device is called on the On-site page. */
export const LAN_CLASS_LABELS: Record<LanDeviceClass, string> = {
  nvr: 'NVR',
  dvr: 'DVR',
  camera: 'Network camera',
  switch: 'Network switch',
  ac_router: 'AC router',
  ap: 'Access point',
  alarm_panel: 'Security control panel',
  access_control: 'Access control',
  intercom: 'Video intercom',
  doorbell: 'Doorbell',
  edge_box: 'Edge box',
  other: 'Other',
};

/** The manual's ping levels in words, so colour is never the only carrier of the meaning. */
export const PING_LEVEL_TEXT: Record<PingLevel, { word: string; meaning: string }> = {
  green: { word: 'Good', meaning: 'good (under 50 ms)' },
  yellow: { word: 'Fair', meaning: 'fair (50–200 ms, some operations may fail)' },
  red: { word: 'Poor', meaning: 'poor (over 200 ms, connection likely fails)' },
};

export function formatPing(ms: number): string {
  return ms < 1 ? 'under 1 ms' : `${Math.round(ms)} ms`;
}

/** "Ping 34 ms, good (under 50 ms)". */
export function pingDescription(device: Pick<LanDevice, 'pingMs' | 'pingLevel'>): string {
  if (device.pingMs === null) return 'Ping not measured yet';
  const ms = formatPing(device.pingMs);
  return device.pingLevel ? `Ping ${ms}, ${PING_LEVEL_TEXT[device.pingLevel].meaning}` : `Ping ${ms}`;
}

/** Whether a device belongs in the "not activated" list: as in the manual's SADP tool, alarm devices are left out of it. */
export function needsActivationNotice(device: Pick<LanDevice, 'activated' | 'deviceClass'>): boolean {
  return !device.activated && device.deviceClass !== 'alarm_panel';
}
