import { isNonce, isP2pSerial, isSerial } from './ids.js';

/**
 * Who is on the other end of an MQTT connection.
 * - An unclaimed box connects as `claim:{serial}` (password: its verification code) with client id
 *   `claim:{serial}:{nonce}`; it may only subscribe to its own credentials topic.
 * - A claimed box connects as `edge:{serial}` (password: the secret the cloud gave it) with client id
 *   `edge:{serial}`; it may only publish and subscribe under `v1/edge/{serial}/`.
 * - A device with Hik-Connect service on (P2P, Table 3-5) connects by itself as `device:{shortSerial}` (password:
 *   its verification code; none for devices without one) with client id `device:{shortSerial}`; it may only
 *   publish its own `v1/device/{shortSerial}/info` and its answers on `v1/device/{shortSerial}/isapi/{requestId}`,
 *   and subscribe only to its own ISAPI requests, `v1/device/{shortSerial}/isapi`.
 */
export type MqttIdentity =
  | { role: 'edge'; serial: string }
  | { role: 'claim'; serial: string; nonce: string }
  | { role: 'device'; serial: string };

export const mqttIdentity = {
  edgeUsername: (serial: string): string => `edge:${serial}`,
  edgeClientId: (serial: string): string => `edge:${serial}`,
  claimUsername: (serial: string): string => `claim:${serial}`,
  claimClientId: (serial: string, nonce: string): string => `claim:${serial}:${nonce}`,
  deviceUsername: (shortSerial: string): string => `device:${shortSerial}`,
  deviceClientId: (shortSerial: string): string => `device:${shortSerial}`,
};

/** Reads the identity a client claims from its username and client id; null when they do not agree. */
export function parseMqttIdentity(username: string | undefined, clientId: string): MqttIdentity | null {
  if (!username) return null;
  const [role, serial, ...rest] = username.split(':');
  if (rest.length > 0 || !serial || !isSerial(serial)) return null;
  if (role === 'device') {
    return isP2pSerial(serial) && clientId === mqttIdentity.deviceClientId(serial) ? { role: 'device', serial } : null;
  }
  if (role === 'edge') {
    return clientId === mqttIdentity.edgeClientId(serial) ? { role: 'edge', serial } : null;
  }
  if (role === 'claim') {
    const prefix = `claim:${serial}:`;
    if (!clientId.startsWith(prefix)) return null;
    const nonce = clientId.slice(prefix.length);
    return isNonce(nonce) ? { role: 'claim', serial, nonce } : null;
  }
  return null;
}
