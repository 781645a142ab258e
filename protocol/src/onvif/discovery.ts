import { randomUUID } from 'node:crypto';
import { fail, ok, type Result } from '../result.js';
import { Ns } from './namespaces.js';
import { buildEnvelope, parseEnvelope } from './soap.js';
import { child, childNode, childText, children, element, isNode, localName, splitList, textElement, textOf, type XmlNode } from './xml.js';

/** WS-Discovery 2005/04 actions, the well-known `To` of a Probe, and the UDP port of the multicast group. */
export const WsdAction = {
  probe: `${Ns.wsd}/Probe`,
  probeMatches: `${Ns.wsd}/ProbeMatches`,
  hello: `${Ns.wsd}/Hello`,
  bye: `${Ns.wsd}/Bye`,
} as const;
export const WSD_TO = 'urn:schemas-xmlsoap-org:ws:2005:04:discovery';
export const WSA_ANONYMOUS = `${Ns.wsa}/role/anonymous`;
export const WSD_PORT = 3702;

/** The device type every ONVIF video device (camera, encoder, NVR) announces. */
export const NETWORK_VIDEO_TRANSMITTER = 'dn:NetworkVideoTransmitter';
/** The device type of the ONVIF device service. */
export const DEVICE_TYPE = 'tds:Device';

/** ONVIF scope prefixes (Core specification, "Scopes"). Values are URL-encoded after the prefix. */
export const OnvifScope = {
  name: 'onvif://www.onvif.org/name/',
  hardware: 'onvif://www.onvif.org/hardware/',
  location: 'onvif://www.onvif.org/location/',
  type: 'onvif://www.onvif.org/type/',
  profile: 'onvif://www.onvif.org/Profile/',
} as const;

/** A fresh WS-Addressing message id (`urn:uuid:...`). */
export const newMessageId = (): string => `urn:uuid:${randomUUID()}`;

/** Readable UDP datagrams stay far below this; longer ones are refused before parsing. */
export const MAX_DATAGRAM_BYTES = 64 * 1024;

export interface Probe {
  messageId: string;
  /** QNames as written (`dn:NetworkVideoTransmitter`); empty means any type. */
  types: string[];
  /** Scope URIs; empty means any scope. */
  scopes: string[];
}

const addressingHeader = (action: string, messageId: string, to: string, relatesTo?: string): string =>
  [
    textElement('wsa:MessageID', messageId),
    relatesTo === undefined ? '' : textElement('wsa:RelatesTo', relatesTo),
    textElement('wsa:To', to),
    textElement('wsa:Action', action),
  ].join('');

/** Builds a Probe (by default for ONVIF video devices), ready to send in one UDP datagram. */
export function buildProbe(opts: { messageId?: string; types?: readonly string[]; scopes?: readonly string[] } = {}): string {
  const types = opts.types ?? [NETWORK_VIDEO_TRANSMITTER];
  const scopes = opts.scopes ?? [];
  const body = element('wsd:Probe', [
    types.length ? textElement('wsd:Types', types.join(' ')) : '',
    scopes.length ? textElement('wsd:Scopes', scopes.join(' ')) : '',
  ]);
  return buildEnvelope({
    header: addressingHeader(WsdAction.probe, opts.messageId ?? newMessageId(), WSD_TO),
    body,
    namespaces: ['wsa', 'wsd', 'dn', 'tds'],
  });
}

function headerText(header: XmlNode | undefined, name: string): string | undefined {
  const v = child(header, name);
  const t = textOf(v);
  return t === undefined ? undefined : t.trim();
}

/** Parses a Probe datagram. Never throws. */
export function parseProbe(input: string | Uint8Array): Result<Probe> {
  if (input.length > MAX_DATAGRAM_BYTES) return fail('datagram too large');
  const env = parseEnvelope(input);
  if (!env.ok) return env;
  const action = headerText(env.value.header, 'Action');
  if (action !== undefined && action !== WsdAction.probe) return fail(`not a Probe: Action ${action}`);
  if (env.value.operation !== 'Probe') return fail(`not a Probe: Body holds ${env.value.operation ?? 'nothing'}`);
  const messageId = headerText(env.value.header, 'MessageID');
  if (!messageId) return fail('Probe without MessageID');
  const probe = childNode(env.value.body, 'Probe') ?? {};
  return ok({ messageId, types: splitList(childText(probe, 'Types')), scopes: splitList(childText(probe, 'Scopes')) });
}

export interface ProbeMatch {
  /** The device's stable endpoint reference, usually `urn:uuid:...`. */
  endpointReference: string;
  types: string[];
  scopes: string[];
  /** Transport addresses of the device service (HTTP URLs). */
  xAddrs: string[];
  metadataVersion: number;
}

export interface ProbeMatches {
  messageId: string;
  /** The MessageID of the Probe answered. */
  relatesTo: string;
  matches: ProbeMatch[];
}

/** Builds the ProbeMatches answer to a Probe. */
export function buildProbeMatches(opts: { messageId?: string; relatesTo: string; matches: readonly ProbeMatch[] }): string {
  const matches = opts.matches.map((m) =>
    element('wsd:ProbeMatch', [
      element('wsa:EndpointReference', textElement('wsa:Address', m.endpointReference)),
      textElement('wsd:Types', m.types.join(' ')),
      textElement('wsd:Scopes', m.scopes.join(' ')),
      textElement('wsd:XAddrs', m.xAddrs.join(' ')),
      textElement('wsd:MetadataVersion', m.metadataVersion),
    ]),
  );
  return buildEnvelope({
    header: addressingHeader(WsdAction.probeMatches, opts.messageId ?? newMessageId(), WSA_ANONYMOUS, opts.relatesTo),
    body: element('wsd:ProbeMatches', matches),
    namespaces: ['wsa', 'wsd', 'dn', 'tds'],
  });
}

const UINT = /^\d{1,10}$/;

/** Parses a ProbeMatches datagram. Matches without an endpoint reference are skipped. Never throws. */
export function parseProbeMatches(input: string | Uint8Array): Result<ProbeMatches> {
  if (input.length > MAX_DATAGRAM_BYTES) return fail('datagram too large');
  const env = parseEnvelope(input);
  if (!env.ok) return env;
  const action = headerText(env.value.header, 'Action');
  if (action !== undefined && action !== WsdAction.probeMatches) return fail(`not ProbeMatches: Action ${action}`);
  if (env.value.operation !== 'ProbeMatches') return fail(`not ProbeMatches: Body holds ${env.value.operation ?? 'nothing'}`);
  const messageId = headerText(env.value.header, 'MessageID') ?? '';
  const relatesTo = headerText(env.value.header, 'RelatesTo');
  if (!relatesTo) return fail('ProbeMatches without RelatesTo');
  const matches: ProbeMatch[] = [];
  for (const m of children(childNode(env.value.body, 'ProbeMatches'), 'ProbeMatch')) {
    if (!isNode(m)) continue;
    const endpointReference = textOf(child(childNode(m, 'EndpointReference'), 'Address'))?.trim();
    if (!endpointReference) continue;
    const version = childText(m, 'MetadataVersion')?.trim() ?? '';
    matches.push({
      endpointReference,
      types: splitList(childText(m, 'Types')),
      scopes: splitList(childText(m, 'Scopes')),
      xAddrs: splitList(childText(m, 'XAddrs')),
      metadataVersion: UINT.test(version) ? Number(version) : 0,
    });
  }
  return ok({ messageId, relatesTo, matches });
}

/** True when the list holds this type, compared by local name (prefixes are each sender's choice). */
export const hasType = (types: readonly string[], type: string): boolean =>
  types.some((t) => localName(t) === localName(type));

/**
 * Whether a device with these types and scopes answers a Probe: every requested type is among its types, and
 * every requested scope matches one of its scopes by the default RFC 3986 rule (same scheme and authority, path
 * segments a prefix of the device's).
 */
export function probeMatches(probe: Pick<Probe, 'types' | 'scopes'>, types: readonly string[], scopes: readonly string[]): boolean {
  if (!probe.types.every((t) => hasType(types, t))) return false;
  return probe.scopes.every((wanted) => scopes.some((have) => scopeMatches(wanted, have)));
}

function scopeMatches(wanted: string, have: string): boolean {
  const w = wanted.replace(/\/+$/, '');
  const h = have.replace(/\/+$/, '');
  return h === w || h.startsWith(`${w}/`);
}

/** The decoded value of the first scope with this prefix (e.g. the device name), if any. */
export function scopeValue(scopes: readonly string[], prefix: string): string | undefined {
  const s = scopes.find((x) => x.startsWith(prefix));
  if (s === undefined) return undefined;
  try {
    return decodeURIComponent(s.slice(prefix.length));
  } catch {
    return s.slice(prefix.length);
  }
}

/** Encodes a value for use after a scope prefix. */
export const scope = (prefix: string, value: string): string => `${prefix}${encodeURIComponent(value)}`;

