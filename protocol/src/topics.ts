import { isDeviceId, isNonce, isP2pSerial, isRequestId, isSerial } from './ids.js';
import { fail, ok, type Result } from './result.js';

/**
 * Every MQTT topic of the tunnel is built and parsed here, nowhere else.
 *
 *   v1/edge/{edgeId}/status                     retained presence, also the last will
 *   v1/edge/{edgeId}/heartbeat                  periodic liveness and load figures
 *   v1/edge/{edgeId}/inventory                  full list of the devices the edge knows
 *   v1/edge/{edgeId}/lan                        what discovery sees on the site's LAN (SADP role)
 *   v1/edge/{edgeId}/device/{deviceId}/state    one device went online or offline
 *   v1/edge/{edgeId}/event/{kind}               something happened (motion, alarm, ...)
 *   v1/edge/{edgeId}/cmd/{method}               RPC request, cloud to edge
 *   v1/edge/{edgeId}/reply/{requestId}          RPC reply, edge to cloud
 *   v1/claim/{serial}/{nonce}/credentials       an unclaimed box receives its MQTT credentials here
 *   v1/device/{shortSerial}/info                retained: what a P2P device says it is (it connects by itself)
 *   v1/device/{shortSerial}/isapi               ISAPI request, cloud to P2P device (the envelope id is the request id)
 *   v1/device/{shortSerial}/isapi/{requestId}   the device's answer to that request
 *
 * The edge id is the box's serial number; a P2P device is known by its short serial.
 */
export const TOPIC_VERSION = 'v1';

export const TopicKind = {
  status: 'status',
  heartbeat: 'heartbeat',
  inventory: 'inventory',
  lan: 'lan',
  deviceState: 'deviceState',
  event: 'event',
  command: 'command',
  reply: 'reply',
  claimCredentials: 'claimCredentials',
  p2pInfo: 'p2pInfo',
  p2pIsapi: 'p2pIsapi',
  p2pIsapiReply: 'p2pIsapiReply',
} as const;
export type TopicKind = (typeof TopicKind)[keyof typeof TopicKind];

export type ParsedTopic =
  | { kind: 'status'; edgeId: string }
  | { kind: 'heartbeat'; edgeId: string }
  | { kind: 'inventory'; edgeId: string }
  | { kind: 'lan'; edgeId: string }
  | { kind: 'deviceState'; edgeId: string; deviceId: string }
  | { kind: 'event'; edgeId: string; eventKind: string }
  | { kind: 'command'; edgeId: string; method: string }
  | { kind: 'reply'; edgeId: string; requestId: string }
  | { kind: 'claimCredentials'; serial: string; nonce: string }
  | { kind: 'p2pInfo'; serial: string }
  | { kind: 'p2pIsapi'; serial: string }
  | { kind: 'p2pIsapiReply'; serial: string; requestId: string };

const METHOD_PATTERN = /^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)*$/;
const EVENT_KIND_PATTERN = /^[a-z][a-zA-Z0-9_.-]{0,63}$/;
export const isMethodName = (s: string): boolean => s.length <= 64 && METHOD_PATTERN.test(s);
export const isEventKind = (s: string): boolean => EVENT_KIND_PATTERN.test(s);

function check(valid: boolean, what: string, value: string): string {
  if (!valid) throw new TypeError(`invalid ${what} for a topic: ${JSON.stringify(value)}`);
  return value;
}
const edge = (edgeId: string): string => `${TOPIC_VERSION}/edge/${check(isSerial(edgeId), 'edge id', edgeId)}`;
const device = (shortSerial: string): string => `${TOPIC_VERSION}/device/${check(isP2pSerial(shortSerial), 'short serial', shortSerial)}`;

/** Topic builders. They throw on an id that could not be parsed back: ids are validated where they enter. */
export const topics = {
  edgePrefix: (edgeId: string): string => `${edge(edgeId)}/`,
  status: (edgeId: string): string => `${edge(edgeId)}/status`,
  heartbeat: (edgeId: string): string => `${edge(edgeId)}/heartbeat`,
  inventory: (edgeId: string): string => `${edge(edgeId)}/inventory`,
  lan: (edgeId: string): string => `${edge(edgeId)}/lan`,
  deviceState: (edgeId: string, deviceId: string): string =>
    `${edge(edgeId)}/device/${check(isDeviceId(deviceId), 'device id', deviceId)}/state`,
  event: (edgeId: string, kind: string): string => `${edge(edgeId)}/event/${check(isEventKind(kind), 'event kind', kind)}`,
  command: (edgeId: string, method: string): string => `${edge(edgeId)}/cmd/${check(isMethodName(method), 'method', method)}`,
  reply: (edgeId: string, requestId: string): string =>
    `${edge(edgeId)}/reply/${check(isRequestId(requestId), 'request id', requestId)}`,
  claimCredentials: (serial: string, nonce: string): string =>
    `${TOPIC_VERSION}/claim/${check(isSerial(serial), 'serial', serial)}/${check(isNonce(nonce), 'nonce', nonce)}/credentials`,
  p2pInfo: (shortSerial: string): string => `${device(shortSerial)}/info`,
  p2pIsapi: (shortSerial: string): string => `${device(shortSerial)}/isapi`,
  p2pIsapiReply: (shortSerial: string, requestId: string): string =>
    `${device(shortSerial)}/isapi/${check(isRequestId(requestId), 'request id', requestId)}`,

  /** Subscription filters. */
  filters: {
    /** What an edge subscribes to: its own commands. */
    commandsOf: (edgeId: string): string => `${edge(edgeId)}/cmd/+`,
    /** What the cloud subscribes to: everything every edge sends. */
    allEdges: `${TOPIC_VERSION}/edge/#`,
  },
} as const;

/** Parses any topic of the tunnel; anything else (or an id that breaks its pattern) is an error. */
export function parseTopic(topic: string): Result<ParsedTopic> {
  if (topic.length > 512) return fail('topic too long');
  const p = topic.split('/');
  if (p[0] !== TOPIC_VERSION) return fail(`unknown topic version in ${JSON.stringify(topic)}`);
  if (p[1] === 'claim') {
    const [, , serial, nonce, leaf] = p;
    if (p.length === 5 && leaf === 'credentials' && serial && nonce && isSerial(serial) && isNonce(nonce)) {
      return ok({ kind: 'claimCredentials', serial, nonce });
    }
    return fail(`not a claim topic: ${JSON.stringify(topic)}`);
  }
  if (p[1] === 'device') {
    const [, , serial, leaf, requestId] = p;
    if (serial && isP2pSerial(serial)) {
      if (p.length === 4 && leaf === 'info') return ok({ kind: 'p2pInfo', serial });
      if (p.length === 4 && leaf === 'isapi') return ok({ kind: 'p2pIsapi', serial });
      if (p.length === 5 && leaf === 'isapi' && requestId && isRequestId(requestId)) return ok({ kind: 'p2pIsapiReply', serial, requestId });
    }
    return fail(`not a device topic: ${JSON.stringify(topic)}`);
  }
  if (p[1] !== 'edge') return fail(`unknown topic ${JSON.stringify(topic)}`);
  const edgeId = p[2];
  if (!edgeId || !isSerial(edgeId)) return fail(`bad edge id in ${JSON.stringify(topic)}`);
  const leaf = p[3];
  if (p.length === 4) {
    if (leaf === 'status' || leaf === 'heartbeat' || leaf === 'inventory' || leaf === 'lan') return ok({ kind: leaf, edgeId } as ParsedTopic);
  } else if (p.length === 5) {
    const arg = p[4] ?? '';
    if (leaf === 'event' && isEventKind(arg)) return ok({ kind: 'event', edgeId, eventKind: arg });
    if (leaf === 'cmd' && isMethodName(arg)) return ok({ kind: 'command', edgeId, method: arg });
    if (leaf === 'reply' && isRequestId(arg)) return ok({ kind: 'reply', edgeId, requestId: arg });
  } else if (p.length === 6 && leaf === 'device' && p[5] === 'state') {
    const deviceId = p[4] ?? '';
    if (isDeviceId(deviceId)) return ok({ kind: 'deviceState', edgeId, deviceId });
  }
  return fail(`unknown topic ${JSON.stringify(topic)}`);
}

/** True when `topic` lies under the edge's own prefix (what the broker lets that edge touch). */
export function isUnderEdge(topic: string, edgeId: string): boolean {
  return isSerial(edgeId) && topic.startsWith(`${TOPIC_VERSION}/edge/${edgeId}/`);
}
