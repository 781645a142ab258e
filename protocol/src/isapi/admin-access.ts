/**
 * The ports a device serves its protocols on (ISAPI `AdminAccessProtocolList`): the edge reads the RTSP port
 * here before it pulls a recorder's live or recorded video.
 */
import { children, isNode } from '../onvif/xml.js';
import type { Result } from '../result.js';
import { isapiDoc as doc, IsapiReader as Reader, isapiRoot as root, isapiTag as tag } from './messages.js';

export const ADMIN_ACCESSES_PATH = '/ISAPI/Security/adminAccesses';

export const AccessProtocol = { http: 'HTTP', https: 'HTTPS', rtsp: 'RTSP', devManage: 'DEV_MANAGE' } as const;
export type AccessProtocol = (typeof AccessProtocol)[keyof typeof AccessProtocol];
const PROTOCOLS = Object.values(AccessProtocol);

export interface AdminAccess {
  protocol: AccessProtocol;
  port: number;
  enabled: boolean;
}

export function buildAdminAccesses(list: readonly AdminAccess[]): string {
  return doc(
    'AdminAccessProtocolList',
    list.map((a, i) => `<AdminAccessProtocol>${tag('id', i + 1)}${tag('enabled', a.enabled)}${tag('protocol', a.protocol)}${tag('portNo', a.port)}</AdminAccessProtocol>`),
  );
}

export function parseAdminAccesses(input: string | Uint8Array): Result<AdminAccess[]> {
  const r = root(input, 'AdminAccessProtocolList');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'AdminAccessProtocolList');
  const list = children(r.value, 'AdminAccessProtocol').map((v) => {
    const n = isNode(v) ? v : {};
    return { protocol: x.oneOf('protocol', PROTOCOLS, n), port: x.int('portNo', n, 1, 65535), enabled: x.optBool('enabled', n) ?? true };
  });
  return x.done(list);
}

/** The RTSP port of an `AdminAccessProtocolList`, or undefined when RTSP is absent or off. */
export function rtspPortOf(list: readonly AdminAccess[]): number | undefined {
  return list.find((a) => a.protocol === AccessProtocol.rtsp && a.enabled)?.port;
}
