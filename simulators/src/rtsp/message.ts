/**
 * RTSP 1.0 framing (RFC 2326): requests from a client, RTP/RTCP frames it interleaves on the same TCP
 * connection (section 10.12), the responses we send, and the Transport header. Pure functions, no I/O.
 */

export interface RtspRequest {
  method: string;
  uri: string;
  /** Header names in lower case; a repeated header keeps its last value. */
  headers: Map<string, string>;
  body: Buffer;
}

export type ParsedFrame =
  | { kind: 'incomplete' }
  | { kind: 'request'; request: RtspRequest; consumed: number }
  | { kind: 'interleaved'; channel: number; payload: Buffer; consumed: number }
  /** The stream cannot be resynchronised after this: answer 400 and close the connection. */
  | { kind: 'error'; error: string };

export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_BODY_BYTES = 64 * 1024;

const HEADER_END = Buffer.from('\r\n\r\n');
const REQUEST_LINE = /^([A-Z_]{1,32}) (\S{1,4096}) RTSP\/1\.0$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;

/** Reads the first frame from `buf`. Never throws. */
export function parseFrame(buf: Buffer): ParsedFrame {
  if (buf.length === 0) return { kind: 'incomplete' };
  if (buf[0] === 0x24) {
    if (buf.length < 4) return { kind: 'incomplete' };
    const length = buf.readUInt16BE(2);
    if (buf.length < 4 + length) return { kind: 'incomplete' };
    return { kind: 'interleaved', channel: buf[1]!, payload: buf.subarray(4, 4 + length), consumed: 4 + length };
  }
  const end = buf.indexOf(HEADER_END);
  if (end < 0) return buf.length > MAX_HEADER_BYTES ? { kind: 'error', error: 'header too large' } : { kind: 'incomplete' };
  if (end > MAX_HEADER_BYTES) return { kind: 'error', error: 'header too large' };
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const line = REQUEST_LINE.exec(lines[0] ?? '');
  if (!line) return { kind: 'error', error: 'malformed request line' };
  const headers = new Map<string, string>();
  for (const h of lines.slice(1)) {
    const m = HEADER_LINE.exec(h);
    if (!m) return { kind: 'error', error: 'malformed header line' };
    headers.set(m[1]!.toLowerCase(), m[2]!);
  }
  const lengthHeader = headers.get('content-length') ?? '0';
  if (!/^\d{1,9}$/.test(lengthHeader)) return { kind: 'error', error: 'malformed Content-Length' };
  const length = Number(lengthHeader);
  if (length > MAX_BODY_BYTES) return { kind: 'error', error: 'body too large' };
  const total = end + HEADER_END.length + length;
  if (buf.length < total) return { kind: 'incomplete' };
  return {
    kind: 'request',
    request: { method: line[1]!, uri: line[2]!, headers, body: Buffer.from(buf.subarray(end + HEADER_END.length, total)) },
    consumed: total,
  };
}

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  451: 'Parameter Not Understood',
  453: 'Not Enough Bandwidth',
  454: 'Session Not Found',
  455: 'Method Not Valid in This State',
  459: 'Aggregate Operation Not Allowed',
  461: 'Unsupported Transport',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'RTSP Version Not Supported',
};

/** Header values; an array repeats the header (e.g. two WWW-Authenticate challenges). */
export type ResponseHeaders = Record<string, string | readonly string[]>;

export function serializeResponse(status: number, headers: ResponseHeaders, body?: string): Buffer {
  const lines = [`RTSP/1.0 ${status} ${REASONS[status] ?? 'Unknown'}`];
  for (const [name, value] of Object.entries(headers)) {
    for (const v of typeof value === 'string' ? [value] : value) lines.push(`${name}: ${v}`);
  }
  const content = body === undefined ? Buffer.alloc(0) : Buffer.from(body, 'utf8');
  if (content.length > 0) lines.push(`Content-Length: ${content.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), content]);
}

/** An interleaved frame: `$`, channel, 16-bit length, payload. */
export function interleavedFrame(channel: number, payload: Buffer): Buffer {
  const header = Buffer.allocUnsafe(4);
  header[0] = 0x24;
  header[1] = channel;
  header.writeUInt16BE(payload.length, 2);
  return Buffer.concat([header, payload]);
}

export type TransportRequest =
  | { kind: 'tcp'; channels: [number, number] | undefined }
  | { kind: 'udp'; clientPorts: [number, number] };

/**
 * Picks the first transport we can serve from a Transport header: RTP/AVP/TCP (interleaved) or RTP/AVP
 * unicast over UDP with client ports. `undefined` when none fits (answer 461).
 */
export function parseTransport(header: string): TransportRequest | undefined {
  for (const spec of header.split(',')) {
    const [protocol = '', ...params] = spec.trim().split(';').map((p) => p.trim());
    const param = (name: string): string | undefined => {
      const p = params.find((x) => x.toLowerCase().startsWith(`${name}=`));
      return p?.slice(name.length + 1);
    };
    if (params.some((p) => p.toLowerCase() === 'multicast')) continue;
    const range = (v: string | undefined, max: number): [number, number] | undefined => {
      const m = v === undefined ? null : /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(v);
      if (!m) return undefined;
      const a = Number(m[1]);
      const b = m[2] === undefined ? a + 1 : Number(m[2]);
      return a <= max && b <= max ? [a, b] : undefined;
    };
    const p = protocol.toUpperCase();
    if (p === 'RTP/AVP/TCP') {
      const value = param('interleaved');
      const channels = range(value, 255);
      if (value !== undefined && channels === undefined) continue;
      return { kind: 'tcp', channels };
    }
    if (p === 'RTP/AVP' || p === 'RTP/AVP/UDP') {
      const ports = range(param('client_port'), 65535);
      if (ports && ports[0] > 0) return { kind: 'udp', clientPorts: ports };
    }
  }
  return undefined;
}
