import { describe, expect, it } from 'vitest';
import { buildEnvelope, parseEnvelope } from './soap.js';
import {
  PASSWORD_DIGEST_TYPE,
  UsernameTokenVerifier,
  buildSecurityHeader,
  createUsernameToken,
  parseUsernameToken,
  passwordDigest,
  usernameTokenHeader,
} from './username-token.js';

// The example of the ONVIF Application Programmer's Guide (section 6.1.1.3).
const GUIDE_NONCE = 'LKqI6G/AikKCQrN0zqZFlg==';
const GUIDE_CREATED = '2010-09-16T07:50:45Z';
const GUIDE_DIGEST = 'tuOSpGlFlIXsozq4HFNeeGeFLEI=';
const GUIDE_REQUEST = `<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">
  <s:Header>
    <Security s:mustUnderstand="1" xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
      <UsernameToken>
        <Username>user</Username>
        <Password Type="${PASSWORD_DIGEST_TYPE}">${GUIDE_DIGEST}</Password>
        <Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${GUIDE_NONCE}</Nonce>
        <Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">${GUIDE_CREATED}</Created>
      </UsernameToken>
    </Security>
  </s:Header>
  <s:Body><GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body>
</s:Envelope>`;

const header = (xml: string) => {
  const env = parseEnvelope(xml);
  if (!env.ok) throw new Error(env.error);
  return env.value.header;
};

describe('PasswordDigest', () => {
  it('matches the ONVIF guide example', () => {
    expect(passwordDigest(Buffer.from(GUIDE_NONCE, 'base64'), GUIDE_CREATED, 'userpassword')).toBe(GUIDE_DIGEST);
  });

  it('verifies the guide request inside its time window, and not outside it', () => {
    const at = (iso: string) => new UsernameTokenVerifier({ users: { user: 'userpassword' }, now: () => Date.parse(iso) });
    expect(at('2010-09-16T07:52:00Z').verify(header(GUIDE_REQUEST))).toEqual({ ok: true, value: { username: 'user' } });
    expect(at('2010-09-16T07:56:00Z').verify(header(GUIDE_REQUEST)).ok).toBe(false);
    expect(at('2010-09-16T07:45:00Z').verify(header(GUIDE_REQUEST)).ok).toBe(false);
    const wrong = new UsernameTokenVerifier({ users: { user: 'other' }, now: () => Date.parse(GUIDE_CREATED) });
    expect(wrong.verify(header(GUIDE_REQUEST))).toEqual({ ok: false, error: 'password digest mismatch' });
    const nobody = new UsernameTokenVerifier({ users: {}, now: () => Date.parse(GUIDE_CREATED) });
    expect(nobody.verify(header(GUIDE_REQUEST)).ok).toBe(false);
  });

  it('refuses a replayed nonce', () => {
    const v = new UsernameTokenVerifier({ users: { user: 'userpassword' }, now: () => Date.parse(GUIDE_CREATED) });
    expect(v.verify(header(GUIDE_REQUEST)).ok).toBe(true);
    expect(v.verify(header(GUIDE_REQUEST))).toEqual({ ok: false, error: 'nonce already used (replay)' });
  });

  it('builds a header that its own verifier accepts', () => {
    const now = new Date('2026-11-02T10:00:00.000Z');
    const xml = buildEnvelope({ header: usernameTokenHeader({ username: 'admin', password: 'Pa55&<word>', now }), body: '<x/>' });
    const v = new UsernameTokenVerifier({ users: { admin: 'Pa55&<word>' }, now: () => now.getTime() + 1000 });
    expect(v.verify(header(xml))).toEqual({ ok: true, value: { username: 'admin' } });
  });

  it('writes the token the way the UsernameToken profile lays it out', () => {
    const token = createUsernameToken({
      username: 'user',
      password: 'userpassword',
      nonce: Buffer.from(GUIDE_NONCE, 'base64'),
      now: new Date(GUIDE_CREATED),
    });
    expect(token.password).toBe(passwordDigest(Buffer.from(GUIDE_NONCE, 'base64'), '2010-09-16T07:50:45.000Z', 'userpassword'));
    const xml = buildSecurityHeader(token);
    expect(xml).toMatch(/^<wsse:Security s:mustUnderstand="1" xmlns:wsse="[^"]+" xmlns:wsu="[^"]+"><wsse:UsernameToken><wsse:Username>user<\/wsse:Username>/);
    expect(xml).toContain(`<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${GUIDE_NONCE}</wsse:Nonce>`);
  });

  it('refuses PasswordText, missing fields and malformed values', () => {
    const text = GUIDE_REQUEST.replace(`Type="${PASSWORD_DIGEST_TYPE}"`, '');
    expect(parseUsernameToken(header(text))).toEqual({ ok: false, error: expect.stringContaining('PasswordText') });
    expect(parseUsernameToken(header(GUIDE_REQUEST.replace(/<Nonce[^]*<\/Nonce>/, ''))).ok).toBe(false);
    expect(parseUsernameToken(header(GUIDE_REQUEST.replace(GUIDE_NONCE, 'not base64!'))).ok).toBe(false);
    expect(parseUsernameToken(header(GUIDE_REQUEST.replace(GUIDE_CREATED, '16/09/2010 07:50'))).ok).toBe(false);
    expect(parseUsernameToken(undefined).ok).toBe(false);
    expect(parseUsernameToken(header(GUIDE_REQUEST)).ok).toBe(true);
  });
});
