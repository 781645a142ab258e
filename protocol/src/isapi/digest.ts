/**
 * HTTP Digest access authentication (RFC 7616) as ISAPI devices use it: algorithm MD5, qop "auth".
 * Server side: issue a challenge and verify an Authorization header. Client side: answer a challenge.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { fail, ok, type Result } from '../result.js';

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  /** Always includes 'auth' when produced by a device here. */
  qop: string[];
  algorithm: string;
  stale: boolean;
}

export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  opaque?: string;
}

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');
const MAX_HEADER = 8 * 1024;

/** Parses `Digest k=v, k="v", ...` (quoted strings may contain commas and escaped characters). */
function parseParams(header: string): Result<Map<string, string>> {
  if (header.length > MAX_HEADER) return fail('header too long');
  const m = /^\s*Digest\s+/i.exec(header);
  if (!m) return fail('not a Digest header');
  const params = new Map<string, string>();
  let rest = header.slice(m[0].length);
  const re = /^\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/;
  while (rest.trim() !== '') {
    const p = re.exec(rest);
    if (!p) return fail('malformed Digest parameters');
    const value = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
    params.set(p[1]!.toLowerCase(), value);
    rest = rest.slice(p[0].length);
  }
  return ok(params);
}

const quote = (v: string): string => `"${v.replace(/(["\\])/g, '\\$1')}"`;

/** Builds a WWW-Authenticate header value. */
export function buildDigestChallenge(c: { realm: string; nonce: string; opaque?: string; stale?: boolean }): string {
  const parts = [`realm=${quote(c.realm)}`, `qop="auth"`, `algorithm=MD5`, `nonce=${quote(c.nonce)}`];
  if (c.opaque !== undefined) parts.push(`opaque=${quote(c.opaque)}`);
  if (c.stale) parts.push('stale=TRUE');
  return `Digest ${parts.join(', ')}`;
}

/** Parses a WWW-Authenticate header value. Never throws. */
export function parseDigestChallenge(header: string): Result<DigestChallenge> {
  const p = parseParams(header);
  if (!p.ok) return p;
  const realm = p.value.get('realm');
  const nonce = p.value.get('nonce');
  if (realm === undefined || !nonce) return fail('Digest challenge without realm or nonce');
  const opaque = p.value.get('opaque');
  return ok({
    realm,
    nonce,
    ...(opaque === undefined ? {} : { opaque }),
    qop: (p.value.get('qop') ?? '').split(',').map((q) => q.trim()).filter((q) => q !== ''),
    algorithm: p.value.get('algorithm') ?? 'MD5',
    stale: (p.value.get('stale') ?? '').toLowerCase() === 'true',
  });
}

/** Parses an Authorization header value. Never throws. */
export function parseDigestAuthorization(header: string): Result<DigestCredentials> {
  const p = parseParams(header);
  if (!p.ok) return p;
  const g = (k: string) => p.value.get(k);
  const username = g('username');
  const realm = g('realm');
  const nonce = g('nonce');
  const uri = g('uri');
  const response = g('response');
  if (username === undefined || realm === undefined || !nonce || uri === undefined || !response) {
    return fail('Digest authorization missing username, realm, nonce, uri or response');
  }
  const out: DigestCredentials = { username, realm, nonce, uri, response, algorithm: g('algorithm') ?? 'MD5' };
  for (const k of ['qop', 'nc', 'cnonce', 'opaque'] as const) {
    const v = g(k);
    if (v !== undefined) out[k] = v;
  }
  return ok(out);
}

/** The response hash: MD5, with qop=auth when given (RFC 7616 3.4.1), else the RFC 2069 form. */
export function digestResponse(a: {
  username: string;
  password: string;
  realm: string;
  method: string;
  uri: string;
  nonce: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
}): string {
  const ha1 = md5(`${a.username}:${a.realm}:${a.password}`);
  const ha2 = md5(`${a.method.toUpperCase()}:${a.uri}`);
  if (a.qop === undefined) return md5(`${ha1}:${a.nonce}:${ha2}`);
  return md5(`${ha1}:${a.nonce}:${a.nc ?? ''}:${a.cnonce ?? ''}:${a.qop}:${ha2}`);
}

/** Client side: the Authorization header answering a challenge (nc counts requests on one nonce, from 1). */
export function buildDigestAuthorization(a: {
  challenge: DigestChallenge;
  username: string;
  password: string;
  method: string;
  uri: string;
  nc?: number;
  cnonce?: string;
}): string {
  const { challenge: c } = a;
  const useQop = c.qop.includes('auth') ? 'auth' : undefined;
  const nc = (a.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = a.cnonce ?? randomBytes(8).toString('hex');
  const response = digestResponse({
    username: a.username,
    password: a.password,
    realm: c.realm,
    method: a.method,
    uri: a.uri,
    nonce: c.nonce,
    ...(useQop ? { qop: useQop, nc, cnonce } : {}),
  });
  const parts = [
    `username=${quote(a.username)}`,
    `realm=${quote(c.realm)}`,
    `nonce=${quote(c.nonce)}`,
    `uri=${quote(a.uri)}`,
    `algorithm=MD5`,
    `response=${quote(response)}`,
  ];
  if (c.opaque !== undefined) parts.push(`opaque=${quote(c.opaque)}`);
  if (useQop) parts.push(`qop=${useQop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
  return `Digest ${parts.join(', ')}`;
}

export type DigestVerdict =
  | { ok: true; username: string }
  | { ok: false; reason: 'missing' | 'malformed' | 'unknownUser' | 'badResponse' | 'staleNonce' | 'replay'; challenge: string };

/**
 * Server side: issues nonces and verifies Authorization headers. Nonces expire after `nonceTtlMs`; a nonce
 * counter (nc) must grow on each use, so a replayed header is refused.
 */
export class DigestServer {
  readonly realm: string;
  private readonly users: (username: string) => string | undefined;
  private readonly ttl: number;
  private readonly now: () => number;
  private readonly opaque = randomBytes(8).toString('hex');
  private readonly nonces = new Map<string, { issued: number; lastNc: number }>();

  constructor(opts: { realm: string; users: (username: string) => string | undefined; nonceTtlMs?: number; now?: () => number }) {
    this.realm = opts.realm;
    this.users = opts.users;
    this.ttl = opts.nonceTtlMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** A fresh WWW-Authenticate header value. */
  challenge(stale = false): string {
    const t = this.now();
    for (const [n, v] of this.nonces) if (t - v.issued > this.ttl) this.nonces.delete(n);
    if (this.nonces.size > 10_000) this.nonces.clear();
    const nonce = randomBytes(16).toString('hex');
    this.nonces.set(nonce, { issued: t, lastNc: 0 });
    return buildDigestChallenge({ realm: this.realm, nonce, opaque: this.opaque, stale });
  }

  /** Forgets every nonce (e.g. when the password changes). */
  reset(): void {
    this.nonces.clear();
  }

  /** Checks the header for this method (and, when given, that it was computed for this request URI). */
  verify(authorization: string | undefined, method: string, requestUri?: string): DigestVerdict {
    if (!authorization) return { ok: false, reason: 'missing', challenge: this.challenge() };
    const c = parseDigestAuthorization(authorization);
    if (!c.ok) return { ok: false, reason: 'malformed', challenge: this.challenge() };
    const cred = c.value;
    if (requestUri !== undefined && cred.uri !== requestUri) return { ok: false, reason: 'malformed', challenge: this.challenge() };
    const password = this.users(cred.username);
    if (password === undefined || cred.realm !== this.realm) return { ok: false, reason: 'unknownUser', challenge: this.challenge() };
    if (cred.algorithm.toUpperCase() !== 'MD5' || cred.qop !== 'auth' || !cred.nc || cred.cnonce === undefined) {
      return { ok: false, reason: 'malformed', challenge: this.challenge() };
    }
    const expected = digestResponse({
      username: cred.username,
      password,
      realm: this.realm,
      method,
      uri: cred.uri,
      nonce: cred.nonce,
      qop: 'auth',
      nc: cred.nc,
      cnonce: cred.cnonce,
    });
    const a = Buffer.from(expected);
    const b = Buffer.from(cred.response.toLowerCase());
    if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, reason: 'badResponse', challenge: this.challenge() };
    const entry = this.nonces.get(cred.nonce);
    if (!entry || this.now() - entry.issued > this.ttl) return { ok: false, reason: 'staleNonce', challenge: this.challenge(true) };
    const nc = /^[0-9a-fA-F]{1,8}$/.test(cred.nc) ? parseInt(cred.nc, 16) : NaN;
    if (!(nc > entry.lastNc)) return { ok: false, reason: 'replay', challenge: this.challenge() };
    entry.lastNc = nc;
    return { ok: true, username: cred.username };
  }
}

/**
 * Client side: a fetch that answers a 401 Digest challenge once, reusing the nonce for later requests
 * (counting nc) until the server refuses it.
 */
export class DigestClient {
  private challenge: DigestChallenge | undefined;
  private nc = 0;

  constructor(
    private readonly username: string,
    private readonly password: string,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const method = (init.method ?? 'GET').toUpperCase();
    const u = new URL(url);
    const uri = `${u.pathname}${u.search}`;
    const send = (): Promise<Response> => {
      const headers = new Headers(init.headers);
      if (this.challenge) {
        this.nc++;
        headers.set(
          'authorization',
          buildDigestAuthorization({ challenge: this.challenge, username: this.username, password: this.password, method, uri, nc: this.nc }),
        );
      }
      return this.fetchFn(url, { ...init, method, headers });
    };
    let res = await send();
    if (res.status !== 401) return res;
    const header = res.headers.get('www-authenticate');
    const c = header ? parseDigestChallenge(header) : undefined;
    if (!c?.ok) return res;
    // A fresh challenge: retry once with it.
    const hadChallenge = this.challenge?.nonce;
    this.challenge = c.value;
    this.nc = 0;
    if (hadChallenge === c.value.nonce) return res;
    await res.body?.cancel();
    res = await send();
    return res;
  }
}
