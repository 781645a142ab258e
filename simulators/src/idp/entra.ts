import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { generate } from 'selfsigned';
import { SignedXml } from 'xml-crypto';
import { readBody } from '../http.js';

/** Entra's claim URIs, as its SAML tokens carry them. */
export const EntraClaim = {
  tenantId: 'http://schemas.microsoft.com/identity/claims/tenantid',
  objectId: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
  displayName: 'http://schemas.microsoft.com/identity/claims/displayname',
  identityProvider: 'http://schemas.microsoft.com/identity/claims/identityprovider',
  email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  name: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
} as const;

/** member: a work account of the tenant; guest: invited from another tenant; personal: a Microsoft account (live.com). */
export type EntraUserKind = 'member' | 'guest' | 'personal';

export interface EntraUser {
  email: string;
  password: string;
  name: string;
  kind: EntraUserKind;
  objectId: string;
}

export interface SignedResponseOptions {
  email: string;
  /** The service provider's entity ID (the assertion's Audience). */
  audience: string;
  /** The ACS (Reply URL): the response's Destination and the confirmation's Recipient. */
  acsUrl: string;
  /** The AuthnRequest answered; null leaves InResponseTo out (an unsolicited response). */
  inResponseTo: string | null;
  name?: string;
  /** Defaults to the directory's user of that email, else member. */
  kind?: EntraUserKind;
  /** The tenantid claim; this tenant's by default. */
  tenantId?: string;
  /** The Issuer; this tenant's entity ID by default. */
  issuer?: string;
  /** Reuse an assertion ID (a replay made by hand). */
  assertionId?: string;
  /** Sign with a key the service provider does not know (a forgery). */
  foreignKey?: boolean;
  /** Minutes the assertion stays valid (5 by default; negative for one that has expired). */
  validMinutes?: number;
}

interface KeyPair {
  privateKey: string;
  cert: string;
}

interface PendingLogin {
  requestId: string;
  acsUrl: string;
  audience: string;
  relayState: string;
}

const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const certBody = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
const instant = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const newId = () => `_${randomUUID()}`;

async function keyPair(cn: string): Promise<KeyPair> {
  const pems = await generate([{ name: 'commonName', value: cn }], { keySize: 2048, algorithm: 'sha256' });
  return { privateKey: pems.private, cert: pems.cert };
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head><body>${body}</body></html>`;
}

/** Reads the auto-submitting form the identity provider answers with: where it posts and what. */
export function readAutoPostForm(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form[^>]*action="([^"]+)"/i.exec(html)?.[1];
  if (!action) throw new Error('no form in the page');
  const unesc = (s: string) => s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/gi)) fields[m[1]!] = unesc(m[2]!);
  return { action: unesc(action), fields };
}

/**
 * Microsoft Entra ID for one tenant, as a company's enterprise application sees it: the federation metadata, the
 * SAML sign-in page (HTTP-Redirect in, an auto-submitted HTTP-POST of a signed response out) and a directory of
 * users. Tests build responses directly with `signedResponse` for the cases a real tenant would not send.
 */
export class EntraIdSimulator {
  readonly tenantId = randomUUID();
  readonly entityId = `https://sts.windows.net/${this.tenantId}/`;
  private readonly users = new Map<string, EntraUser>();
  private readonly pending = new Map<string, PendingLogin>();
  private foreign: Promise<KeyPair> | null = null;

  private constructor(
    private readonly server: Server,
    private readonly keys: KeyPair,
    /** Where browsers reach the simulator, e.g. http://127.0.0.1:41234. */
    readonly url: string,
  ) {}

  /** Starts the tenant on 127.0.0.1 and an ephemeral port; `host` names it in its URLs (e.g. localhost). */
  static async start(opts: { host?: string } = {}): Promise<EntraIdSimulator> {
    const keys = await keyPair('accounts.accesscontrol.windows.net');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const sim = new EntraIdSimulator(server, keys, `http://${opts.host ?? '127.0.0.1'}:${port}`);
    server.on('request', (req, res) => sim.handle(req, res));
    return sim;
  }

  get ssoUrl(): string {
    return `${this.url}/saml2`;
  }

  /** The "Federation Metadata XML" the admin downloads from the enterprise application. */
  get metadataXml(): string {
    return (
      `<?xml version="1.0" encoding="utf-8"?>` +
      `<EntityDescriptor ID="${newId()}" entityID="${this.entityId}" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` +
      `<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
      `<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>${certBody(this.keys.cert)}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>` +
      `<SingleLogoutService Binding="${REDIRECT}" Location="${this.ssoUrl}"/>` +
      `<SingleSignOnService Binding="${REDIRECT}" Location="${this.ssoUrl}"/>` +
      `<SingleSignOnService Binding="${POST}" Location="${this.ssoUrl}"/>` +
      `</IDPSSODescriptor></EntityDescriptor>`
    );
  }

  addUser(user: { email: string; password: string; name: string; kind?: EntraUserKind }): EntraUser {
    const u: EntraUser = { kind: 'member', ...user, email: user.email.toLowerCase(), objectId: randomUUID() };
    this.users.set(u.email, u);
    return u;
  }

  /** A base64 SAMLResponse as the ACS receives it, with an assertion signed by the tenant's key (or another). */
  async signedResponse(o: SignedResponseOptions): Promise<string> {
    const user = this.users.get(o.email.toLowerCase());
    const kind = o.kind ?? user?.kind ?? 'member';
    const now = Date.now();
    const until = instant(now + (o.validMinutes ?? 5) * 60_000);
    const issuer = o.issuer ?? this.entityId;
    const tenant = o.tenantId ?? this.tenantId;
    // Entra names where the user's identity lives: the tenant itself, another tenant (a guest), or live.com.
    const provider = kind === 'member' ? `https://sts.windows.net/${tenant}/` : kind === 'guest' ? `https://sts.windows.net/${randomUUID()}/` : 'live.com';
    const inResponseTo = o.inResponseTo === null ? '' : ` InResponseTo="${esc(o.inResponseTo)}"`;
    const assertionId = o.assertionId ?? newId();
    const attr = (name: string, value: string) => `<Attribute Name="${name}"><AttributeValue>${esc(value)}</AttributeValue></Attribute>`;
    const assertion =
      `<Assertion ID="${assertionId}" IssueInstant="${instant(now)}" Version="2.0" xmlns="${SAML_NS}">` +
      `<Issuer>${esc(issuer)}</Issuer>` +
      `<Subject><NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${esc(o.email)}</NameID>` +
      `<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><SubjectConfirmationData${inResponseTo} NotOnOrAfter="${until}" Recipient="${esc(o.acsUrl)}"/></SubjectConfirmation></Subject>` +
      `<Conditions NotBefore="${instant(now - 5 * 60_000)}" NotOnOrAfter="${until}"><AudienceRestriction><Audience>${esc(o.audience)}</Audience></AudienceRestriction></Conditions>` +
      `<AttributeStatement>` +
      attr(EntraClaim.tenantId, tenant) +
      attr(EntraClaim.objectId, user?.objectId ?? randomUUID()) +
      attr(EntraClaim.displayName, o.name ?? user?.name ?? o.email) +
      attr(EntraClaim.identityProvider, provider) +
      attr(EntraClaim.email, o.email) +
      attr(EntraClaim.name, o.email) +
      `</AttributeStatement>` +
      `<AuthnStatement AuthnInstant="${instant(now)}" SessionIndex="${assertionId}"><AuthnContext><AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</AuthnContextClassRef></AuthnContext></AuthnStatement>` +
      `</Assertion>`;
    const response =
      `<samlp:Response ID="${newId()}" Version="2.0" IssueInstant="${instant(now)}" Destination="${esc(o.acsUrl)}"${inResponseTo} xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">` +
      `<Issuer xmlns="${SAML_NS}">${esc(issuer)}</Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
      assertion +
      `</samlp:Response>`;
    const keys = o.foreignKey ? await (this.foreign ??= keyPair('forger.example')) : this.keys;
    // Entra's default: the assertion is signed (RSA-SHA256), with the certificate in KeyInfo.
    const sig = new SignedXml({
      privateKey: keys.privateKey,
      publicCert: keys.cert,
      signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    });
    sig.addReference({
      xpath: `//*[local-name(.)='Assertion']`,
      transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    });
    sig.computeSignature(response, { location: { reference: `//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']`, action: 'after' } });
    return Buffer.from(sig.getSignedXml()).toString('base64');
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    if (req.method === 'GET' && url.pathname === '/federationmetadata.xml') {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(this.metadataXml);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/saml2') return this.loginPage(url, res);
    if (req.method === 'POST' && url.pathname === '/saml2/login') {
      readBody(req, (body) => {
        if (!body) return this.html(res, 413, page('Error', '<p role="alert">Request too large.</p>'));
        void this.signIn(new URLSearchParams(body.toString('utf8')), res).catch((err: Error) => this.html(res, 500, page('Error', `<p role="alert">${esc(err.message)}</p>`)));
      });
      return;
    }
    this.html(res, 404, page('Not found', '<p>Not found.</p>'));
  }

  private html(res: ServerResponse, status: number, html: string): void {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  }

  /** The HTTP-Redirect binding: a deflated, base64 AuthnRequest in the query. */
  private loginPage(url: URL, res: ServerResponse): void {
    let request: PendingLogin;
    try {
      const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
      const doc = new DOMParser().parseFromString(xml, 'text/xml');
      const root = doc.documentElement;
      if (!root || root.localName !== 'AuthnRequest') throw new Error('not an AuthnRequest');
      const issuer = root.getElementsByTagNameNS(SAML_NS, 'Issuer')[0]?.textContent?.trim() ?? '';
      const requestId = root.getAttribute('ID') ?? '';
      const acsUrl = root.getAttribute('AssertionConsumerServiceURL') ?? '';
      if (!requestId || !acsUrl || !issuer) throw new Error('the AuthnRequest lacks its ID, ACS URL or issuer');
      request = { requestId, acsUrl, audience: issuer, relayState: url.searchParams.get('RelayState') ?? '' };
    } catch (err) {
      return this.html(res, 400, page('Sign-in error', `<p role="alert">AADSTS750054: SAMLRequest is not valid (${esc((err as Error).message)}).</p>`));
    }
    const ctx = randomBytes(16).toString('hex');
    this.pending.set(ctx, request);
    this.html(res, 200, this.loginForm(ctx, url.searchParams.get('login_hint') ?? '', ''));
  }

  private loginForm(ctx: string, email: string, error: string): string {
    return page(
      'Sign in to your account',
      `<main><h1>Sign in</h1>` +
        (error ? `<p role="alert" data-testid="idp-error">${esc(error)}</p>` : '') +
        `<form method="post" action="/saml2/login">` +
        `<input type="hidden" name="ctx" value="${ctx}">` +
        `<label for="idp-email">Email</label> <input id="idp-email" name="email" type="email" data-testid="idp-email" value="${esc(email)}"><br>` +
        `<label for="idp-password">Password</label> <input id="idp-password" name="password" type="password" data-testid="idp-password"><br>` +
        `<button type="submit" id="idSIButton9" data-testid="idp-sign-in">Sign in</button>` +
        `</form></main>`,
    );
  }

  private async signIn(form: URLSearchParams, res: ServerResponse): Promise<void> {
    const ctx = form.get('ctx') ?? '';
    const login = this.pending.get(ctx);
    if (!login) return this.html(res, 400, page('Sign-in error', '<p role="alert">This sign-in has expired: start again from the application.</p>'));
    const email = (form.get('email') ?? '').toLowerCase();
    const user = this.users.get(email);
    if (!user || user.password !== form.get('password')) {
      return this.html(res, 401, this.loginForm(ctx, email, 'Your account or password is incorrect.'));
    }
    this.pending.delete(ctx);
    const samlResponse = await this.signedResponse({ email: user.email, audience: login.audience, acsUrl: login.acsUrl, inResponseTo: login.requestId });
    const relay = login.relayState ? `<input type="hidden" name="RelayState" value="${esc(login.relayState)}">` : '';
    this.html(
      res,
      200,
      page(
        'Working...',
        `<form method="post" action="${esc(login.acsUrl)}" id="saml-post"><input type="hidden" name="SAMLResponse" value="${samlResponse}">${relay}` +
          `<noscript><button type="submit">Continue</button></noscript></form><script>document.getElementById('saml-post').submit()</script>`,
      ),
    );
  }
}
