import type { InitStep, LanDeviceClass, StepState } from '@vigil/protocol';
import type { ActivationJob, AddLanDevicesResult, LanDevice } from '@vigil/protocol/api';

/*
 * The device password and verification code policies, worded as the API words them (devicePasswordProblem and
 * verificationCodeProblem in @vigil/protocol). Kept here because the protocol package's entry point also carries
 * Node-only code that has no place in the browser bundle.
 */

/** The manual's device password policy, for hints. */
export const DEVICE_PASSWORD_HINT =
  '8 to 16 characters, with at least two of: upper case letters, lower case letters, digits, special characters.';
export const VERIFICATION_CODE_HINT =
  '6 to 12 letters or digits. Needed to turn on the Hik-Connect service; the AC router needs none.';

/** What is wrong with a device password, as a sentence, or null when the policy accepts it. */
export function devicePasswordError(password: string): string | null {
  if (!password) return 'Enter a device password.';
  if (password.length < 8 || password.length > 16) return 'The password must have 8 to 16 characters.';
  if (/[^\x20-\x7e]/.test(password)) return 'The password may only hold printable ASCII characters.';
  const kinds = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (kinds < 2) return 'The password must mix at least two of upper case, lower case, digits and special characters.';
  return null;
}

/** What is wrong with a verification code, as a sentence, or null. An empty code is allowed (no Hik-Connect). */
export function verificationCodeError(code: string): string | null {
  if (!code) return null;
  if (!/^[A-Za-z0-9]{6,12}$/.test(code)) return 'The verification code must have 6 to 12 letters or digits.';
  return null;
}

/** The steps of the manual's Table 3-2 in the order they run, with what the page calls them. */
export const INIT_STEP_LABELS: Record<InitStep, string> = {
  activate: 'Activate',
  network: 'Configure network',
  firmware: 'Check firmware update',
  time: 'Sync device time',
  storage: 'Initialize HDD / SD card',
  camera: 'Camera settings',
  hikConnect: 'Hik-Connect service',
  nvrChannel: 'Add to NVR',
  channels: 'Add and sort channels',
};
export const INIT_STEP_ORDER = Object.keys(INIT_STEP_LABELS) as InitStep[];

/** A step's state in words, with a symbol that only repeats them. `waiting`: not reported yet; `not_run`: the job ended first. */
export type StepDisplay = StepState | 'waiting' | 'not_run';
export const STEP_STATE_TEXT: Record<StepDisplay, { word: string; icon: string }> = {
  running: { word: 'In progress', icon: '…' },
  done: { word: 'Done', icon: '✓' },
  skipped: { word: 'Skipped', icon: '–' },
  failed: { word: 'Failed', icon: '✕' },
  waiting: { word: 'Waiting', icon: '○' },
  not_run: { word: 'Not run', icon: '○' },
};

export type JobItem = ActivationJob['items'][number];

export const RESULT_TEXT: Record<JobItem['result'], string> = {
  running: 'In progress',
  succeeded: 'Initialized',
  failed: 'Failed',
};

export function jobCounts(job: ActivationJob): { total: number; succeeded: number; failed: number } {
  let succeeded = 0;
  let failed = 0;
  for (const item of job.items) {
    if (item.result === 'succeeded') succeeded++;
    else if (item.result === 'failed') failed++;
  }
  return { total: job.items.length, succeeded, failed };
}

/** "2 of 3 devices initialized". */
export function jobSummary(job: ActivationJob): string {
  const { total, succeeded } = jobCounts(job);
  return `${succeeded} of ${total} ${total === 1 ? 'device' : 'devices'} initialized`;
}

/** The most sites the site list answers in one page, which is all the "Another site" choice asks for. */
export const SITE_CHOICE_LIMIT = 500;

/** A device offered in "Add devices to a site", from the LAN list or from a finished activation job. */
export interface AddCandidate {
  serial: string;
  model: string;
  deviceClass: LanDeviceClass;
  ip: string;
  /** Video channels the device brings to the site; null when not reported. */
  channels: number | null;
  /** Ticked when the dialog opens. */
  checked: boolean;
}

/** What "Add devices to a site" reports once the server accepted. */
export interface AddedResult {
  siteId: string;
  siteName: string;
  /** Whether the devices went to the site whose On-site page this is. */
  thisSite: boolean;
  serials: string[];
  reply: AddLanDevicesResult;
}

/** The channel count of a LAN device; null when the server does not report one. */
export function lanChannels(device: LanDevice): number | null {
  return typeof device.channels === 'number' ? device.channels : null;
}

export function lanCandidate(device: LanDevice, checked = true): AddCandidate {
  return {
    serial: device.serial,
    model: device.model,
    deviceClass: device.deviceClass,
    ip: device.network.ipv4,
    channels: lanChannels(device),
    checked,
  };
}

/**
 * Device types that cannot be added from the LAN (SADP): they are added by QR code, serial number or Hik-Connect
 * sync (the manual's Table 3-6). The same list as LAN_ADD_REFUSED in @vigil/protocol, whose entry point has no
 * place in the browser bundle.
 */
export const LAN_ADD_REFUSED_CLASSES: ReadonlySet<LanDeviceClass> = new Set<LanDeviceClass>(['alarm_panel', 'doorbell']);

/** Whether a LAN device can be added to a site from the On-site page: activated, not on this site yet, of a type added by LAN. */
export function addableToSite(device: Pick<LanDevice, 'activated' | 'deviceClass' | 'siteDeviceId'>): boolean {
  return device.activated && !device.siteDeviceId && !LAN_ADD_REFUSED_CLASSES.has(device.deviceClass);
}

/** "1 device" / "3 devices". */
export function deviceCount(n: number): string {
  return n === 1 ? '1 device' : `${n} devices`;
}
