import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { fail, ok, type Result } from '../result.js';
import { Ns, SOAP_PREFIX } from './namespaces.js';
import { attr, child, childNode, element, textElement, textOf, type XmlNode } from './xml.js';

/** WS-Security UsernameToken Profile 1.0 value types. */
export const PASSWORD_DIGEST_TYPE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
export const PASSWORD_TEXT_TYPE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';
export const BASE64_BINARY_ENCODING =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';

/** How far `Created` may lie from the server's clock, either way, unless configured otherwise. */
export const DEFAULT_TOLERANCE_MS = 5 * 60 * 1000;

/** `base64(sha1(nonce + created + password))`, with `created` and `password` as UTF-8. */
export function passwordDigest(nonce: Uint8Array, created: string, password: string): string {
  return createHash('sha1').update(nonce).update(created, 'utf8').update(password, 'utf8').digest('base64');
}

export interface UsernameToken {
  username: string;
  /** The password digest, base64. */
  password: string;
  /** The nonce, base64. */
  nonce: string;
  /** xs:dateTime in UTC. */
  created: string;
}

export interface CreateTokenOptions {
  username: string;
  password: string;
  /** The sender's idea of the device's clock (clients correct for skew using GetSystemDateAndTime). */
  now?: Date;
  /** Random 16 bytes unless given (tests). */
  nonce?: Uint8Array;
}

/** Creates a PasswordDigest token for a client request. */
export function createUsernameToken(opts: CreateTokenOptions): UsernameToken {
  const nonce = opts.nonce ?? randomBytes(16);
  const created = (opts.now ?? new Date()).toISOString();
  return {
    username: opts.username,
    password: passwordDigest(nonce, created, opts.password),
    nonce: Buffer.from(nonce).toString('base64'),
    created,
  };
}

/** The `wsse:Security` header block carrying a token (declares its own namespaces). */
export function buildSecurityHeader(token: UsernameToken): string {
  return element(
    'wsse:Security',
    element('wsse:UsernameToken', [
      textElement('wsse:Username', token.username),
      textElement('wsse:Password', token.password, { Type: PASSWORD_DIGEST_TYPE }),
      textElement('wsse:Nonce', token.nonce, { EncodingType: BASE64_BINARY_ENCODING }),
      textElement('wsu:Created', token.created),
    ]),
    { [`${SOAP_PREFIX}:mustUnderstand`]: '1', 'xmlns:wsse': Ns.wsse, 'xmlns:wsu': Ns.wsu },
  );
}

/** Creates a token and returns the header block, ready for `buildEnvelope({header})`. */
export const usernameTokenHeader = (opts: CreateTokenOptions): string => buildSecurityHeader(createUsernameToken(opts));

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// xs:dateTime, required here to carry a zone so that it names one instant.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const MAX_FIELD = 512;

/** Reads the UsernameToken of a parsed SOAP Header. Only PasswordDigest tokens are accepted. */
export function parseUsernameToken(header: XmlNode | undefined): Result<UsernameToken> {
  const token = childNode(childNode(header, 'Security'), 'UsernameToken');
  if (!token) return fail('no WS-Security UsernameToken in the SOAP header');
  const username = textOf(child(token, 'Username'));
  const pw = child(token, 'Password');
  const password = textOf(pw);
  const nonce = textOf(child(token, 'Nonce'));
  const created = textOf(child(token, 'Created'));
  if (!username || !password || !nonce || !created) return fail('UsernameToken lacks Username, Password, Nonce or Created');
  if ([username, password, nonce, created].some((f) => f.length > MAX_FIELD)) return fail('UsernameToken field too long');
  // An absent Type means PasswordText (UsernameToken Profile 1.0, 3.1), which is not accepted.
  const type = attr(pw, 'Type');
  if (type !== PASSWORD_DIGEST_TYPE) return fail(`unsupported password type ${type ?? '(none: PasswordText)'}`);
  const encoding = attr(child(token, 'Nonce'), 'EncodingType');
  if (encoding !== undefined && encoding !== BASE64_BINARY_ENCODING) return fail(`unsupported nonce encoding ${encoding}`);
  if (!BASE64.test(nonce) || !BASE64.test(password)) return fail('Nonce or Password digest is not base64');
  if (!DATE_TIME.test(created) || !Number.isFinite(Date.parse(created))) return fail(`Created is not a UTC xs:dateTime: ${created}`);
  return ok({ username, password, nonce, created });
}

export interface VerifierOptions {
  /** The accounts: a map of username to password, or a lookup. */
  users: Readonly<Record<string, string>> | ((username: string) => string | undefined);
  /** Allowed distance between `Created` and the server clock, either way (default 5 minutes). */
  toleranceMs?: number;
  /** The server clock in ms since the epoch (tests inject one). */
  now?: () => number;
  /** Bound on remembered nonces; the oldest are forgotten first when full (default 10,000). */
  maxNonces?: number;
}

/**
 * Server-side check of WS-Security UsernameToken PasswordDigest: user, digest, freshness of `Created`, and a
 * nonce not seen before while its token could still be fresh (replay). Never throws.
 */
export class UsernameTokenVerifier {
  readonly toleranceMs: number;
  private readonly lookup: (username: string) => string | undefined;
  private readonly now: () => number;
  private readonly maxNonces: number;
  /** nonce → when its token stops being fresh, after which replaying it fails the time check anyway. */
  private readonly seen = new Map<string, number>();

  constructor(opts: VerifierOptions) {
    const users = opts.users;
    this.lookup = typeof users === 'function' ? users : (u) => (Object.hasOwn(users, u) ? users[u] : undefined);
    this.toleranceMs = opts.toleranceMs ?? DEFAULT_TOLERANCE_MS;
    this.now = opts.now ?? Date.now;
    this.maxNonces = opts.maxNonces ?? 10_000;
  }

  /** Verifies the token in a parsed SOAP Header. */
  verify(header: XmlNode | undefined): Result<{ username: string }> {
    const token = parseUsernameToken(header);
    return token.ok ? this.verifyToken(token.value) : token;
  }

  verifyToken(token: UsernameToken): Result<{ username: string }> {
    const password = this.lookup(token.username);
    if (password === undefined) return fail(`unknown user ${token.username}`);
    const created = Date.parse(token.created);
    if (!Number.isFinite(created)) return fail('Created is not a date');
    const now = this.now();
    if (Math.abs(now - created) > this.toleranceMs) {
      return fail(`Created ${token.created} is outside ±${this.toleranceMs} ms of the server clock`);
    }
    const nonce = Buffer.from(token.nonce, 'base64');
    const expected = Buffer.from(passwordDigest(nonce, token.created, password), 'base64');
    const given = Buffer.from(token.password, 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return fail('password digest mismatch');
    const until = this.seen.get(token.nonce);
    if (until !== undefined && until >= now) return fail('nonce already used (replay)');
    this.remember(token.nonce, created + this.toleranceMs, now);
    return ok({ username: token.username });
  }

  private remember(nonce: string, until: number, now: number): void {
    this.seen.delete(nonce);
    if (this.seen.size >= this.maxNonces) {
      for (const [n, u] of this.seen) if (u < now) this.seen.delete(n);
      const oldest = this.seen.keys().next();
      if (this.seen.size >= this.maxNonces && !oldest.done) this.seen.delete(oldest.value);
    }
    this.seen.set(nonce, until);
  }
}
