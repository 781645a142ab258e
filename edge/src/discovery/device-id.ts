import { isDeviceId } from '@vigil/protocol';

/**
 * A stable device id from a serial number: characters outside `[A-Za-z0-9_.-]` become `-`, leading
 * punctuation is dropped, and it is cut to 128 characters. Undefined when nothing usable is left.
 */
export function deviceIdFromSerial(serial: string): string | undefined {
  const id = serial
    .trim()
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128);
  return isDeviceId(id) ? id : undefined;
}
