/**
 * Identifiers that appear as MQTT topic levels. They may never contain the topic separators or
 * wildcards (`/`, `+`, `#`), so each kind has one pattern used by schemas, topic builders and parsers.
 */
export const SERIAL_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$';
export const DEVICE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$';
export const REQUEST_ID_PATTERN = '^[A-Za-z0-9_-]{8,64}$';
export const NONCE_PATTERN = '^[A-Za-z0-9_-]{8,64}$';
/** The 9-character serial a device is known by on the P2P service (the short serial of §3.1.4). */
export const P2P_SERIAL_PATTERN = '^[A-Za-z0-9]{9}$';

const serialRe = new RegExp(SERIAL_PATTERN);
const deviceIdRe = new RegExp(DEVICE_ID_PATTERN);
const requestIdRe = new RegExp(REQUEST_ID_PATTERN);
const nonceRe = new RegExp(NONCE_PATTERN);
const p2pSerialRe = new RegExp(P2P_SERIAL_PATTERN);

export const isSerial = (s: string): boolean => serialRe.test(s);
export const isDeviceId = (s: string): boolean => deviceIdRe.test(s);
export const isRequestId = (s: string): boolean => requestIdRe.test(s);
export const isNonce = (s: string): boolean => nonceRe.test(s);
export const isP2pSerial = (s: string): boolean => p2pSerialRe.test(s);
