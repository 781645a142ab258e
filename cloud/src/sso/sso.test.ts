import { inflateRawSync } from 'node:zlib';
import { and, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntraIdSimulator, readAutoPostForm, ScimClient } from '@vigil/simulators';
import type { MeReply, SsoConfig } from '@vigil/protocol/api';
import { accounts, operationLogs, roles, samlIds } from '../db/schema.js';
import { ApiClient, registerCompany, signInEmployee, startTestCloud, type TestCloud } from '../testing/cloud.js';

let cloud: TestCloud;
let idp: EntraIdSimulator;
let idpB: EntraIdSimulator;
type Company = Awaited<ReturnType<typeof registerCompany>>;
let a: Company;
let b: Company;
let scimA: ScimClient;
let scimB: ScimClient;
let roleOne: string;
let roleTwo: string;
let configA: SsoConfig;
let configB: SsoConfig;

type Refusal = { code: string; message: string };
const PASSWORD = 'Entra-pass-1';
let seq = 0;
const email = (tag: string) => `${tag}.${++seq}@contoso.test`;

async function newRole(companyId: string, name: string, permissions: string[]) {
  const [row] = await cloud.ctx.db.insert(roles).values({ companyId, name, permissions }).returning();
  return row!.id;
}

/** The Installer Admin's wizard: metadata, default role, secret token. */
async function configure(admin: ApiClient, sim: EntraIdSimulator, defaultRoleId: string | null) {
  const up = await admin.call<SsoConfig>('PUT', '/company/sso/metadata', { metadataXml: sim.metadataXml });
  expect(up.status).toBe(200);
  if (defaultRoleId) expect((await admin.patch('/company/sso', { defaultRoleId })).status).toBe(200);
  const token = await admin.post<{ token: string; scimTenantUrl: string }>('/company/sso/scim-token');
  expect(token.status).toBe(200);
  return { config: up.body, scim: new ScimClient(token.body.scimTenantUrl, token.body.token) };
}

async function provision(scim: ScimClient, sim: EntraIdSimulator | null, kind: 'member' | 'guest' | 'personal' = 'member') {
  const user = { email: email(kind), name: `User ${seq}` };
  sim?.addUser({ ...user, password: PASSWORD, kind });
  const res = await scim.createUser(user);
  expect(res.status).toBe(201);
  return { ...user, id: res.body.id };
}

/** "Log In via Azure AD": the email step, then where the browser is sent. */
async function start(address: string) {
  return new ApiClient(cloud.api).post<{ redirectUrl: string } & Refusal>('/auth/sso', { email: address });
}

/** An AuthnRequest the cloud made for the email's company: its ID, audience and ACS. */
async function authnRequest(address: string) {
  const res = await start(address);
  expect(res.status).toBe(200);
  const xml = inflateRawSync(Buffer.from(new URL(res.body.redirectUrl).searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  return {
    id: /\bID="([^"]+)"/.exec(xml)![1]!,
    audience: /<saml:Issuer[^>]*>([^<]+)</.exec(xml)![1]!,
    acsUrl: /AssertionConsumerServiceURL="([^"]+)"/.exec(xml)![1]!,
  };
}

async function postAcs(acsUrl: string, fields: Record<string, string>) {
  const res = await fetch(acsUrl, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  const cookie = res.headers.get('set-cookie')?.split(';')[0] ?? null;
  return { status: res.status, location: res.headers.get('location'), cookie };
}

/** The browser's way through the identity provider's pages; returns the form it auto-posts to the ACS. */
async function throughIdp(address: string, password = PASSWORD) {
  const res = await start(address);
  expect(res.status).toBe(200);
  const page = await (await fetch(res.body.redirectUrl)).text();
  const ctx = /name="ctx" value="([^"]+)"/.exec(page)![1]!;
  expect(page).toContain(`value="${address}"`); // the login hint fills the email in
  const form = `/saml2/login`;
  const host = new URL(res.body.redirectUrl).origin;
  const answer = await fetch(`${host}${form}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ctx, email: address, password }).toString() });
  expect(answer.status).toBe(200);
  return readAutoPostForm(await answer.text());
}

async function signIn(address: string) {
  const form = await throughIdp(address);
  return postAcs(form.action, form.fields);
}

const refusedWith = (code: string) => expect.objectContaining({ status: 303, location: `/login?sso_error=${code}`, cookie: null });

async function lastLogin(accountId: string) {
  const [line] = await cloud.ctx.db
    .select()
    .from(operationLogs)
    .where(and(eq(operationLogs.accountId, accountId), eq(operationLogs.action, 'Log In via Azure AD')))
    .orderBy(desc(operationLogs.id))
    .limit(1);
  return line;
}

beforeAll(async () => {
  [cloud, idp, idpB] = await Promise.all([startTestCloud(), EntraIdSimulator.start(), EntraIdSimulator.start()]);
  a = await registerCompany(cloud.api, 'Contoso Security');
  b = await registerCompany(cloud.api, 'Fabrikam Alarms');
  roleOne = await newRole(a.companyId, 'Technician', ['accounts.manage', 'site.manage_all']);
  roleTwo = await newRole(a.companyId, 'Dispatcher', ['site.manage_assigned']);
}, 60_000);
afterAll(async () => {
  await Promise.all([idp?.stop(), idpB?.stop()]);
  await cloud?.stop();
});

describe('configuration (Installer Admin)', () => {
  it('refuses bad metadata, binds the tenant, and refuses the same tenant for another company', async () => {
    const before = await a.client.get<Refusal>('/company/sso');
    expect(before.status).toBe(404);
    expect(before.body.code).toBe('SSO_NOT_CONFIGURED');

    for (const metadataXml of ['<not-xml', '<EntityDescriptor entityID="x"/>', idp.metadataXml.replace(/<KeyDescriptor[\s\S]*<\/KeyDescriptor>/, '')]) {
      const bad = await a.client.call<Refusal>('PUT', '/company/sso/metadata', { metadataXml });
      expect(bad.status).toBe(422);
      expect(bad.body.code).toBe('SSO_METADATA_INVALID');
    }
    expect((await a.client.get('/company/sso')).status).toBe(404);

    ({ config: configA, scim: scimA } = await configure(a.client, idp, roleOne));
    expect(configA).toMatchObject({
      tenantId: idp.tenantId,
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      spEntityId: `${cloud.url}/api/v1/sso/saml/${a.companyId}/metadata`,
      replyUrl: `${cloud.url}/api/v1/sso/saml/${a.companyId}/acs`,
      scimTenantUrl: `${cloud.url}/scim/v2`,
      loginEnabled: true,
      syncEnabled: true,
    });
    expect(configA.certificates).toHaveLength(1);
    const now = await a.client.get<SsoConfig>('/company/sso');
    expect(now.body).toMatchObject({ defaultRoleId: roleOne, scimTokenSet: true });

    // One tenant, one company.
    const taken = await b.client.call<Refusal>('PUT', '/company/sso/metadata', { metadataXml: idp.metadataXml });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('SSO_TENANT_TAKEN');
    expect((await b.client.get('/company/sso')).status).toBe(404);
    ({ config: configB, scim: scimB } = await configure(b.client, idpB, null));
    expect(configB.tenantId).toBe(idpB.tenantId);

    // Uploading again replaces the metadata and keeps the rest.
    const again = await a.client.call<SsoConfig>('PUT', '/company/sso/metadata', { metadataXml: idp.metadataXml });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ defaultRoleId: roleOne, scimTokenSet: true });

    const sp = await fetch(configA.spEntityId);
    expect(sp.status).toBe(200);
    expect(await sp.text()).toContain(configA.replyUrl);
  });

  it('is the Installer Admin’s only, and the default role must be one of the company’s', async () => {
    const employee = await signInEmployee(cloud, a.companyId, ['accounts.manage']);
    const denied = await employee.get<Refusal>('/company/sso');
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('INSTALLER_ADMIN_ONLY');
    expect((await employee.post<Refusal>('/company/sso/scim-token')).status).toBe(403);

    const foreignRole = await newRole(b.companyId, 'Elsewhere', []);
    const bad = await a.client.patch<Refusal>('/company/sso', { defaultRoleId: foreignRole });
    expect(bad.status).toBe(404);
    expect(bad.body.code).toBe('ROLE_NOT_FOUND');
    expect((await a.client.get<SsoConfig>('/company/sso')).body.defaultRoleId).toBe(roleOne);
  });
});

describe('SCIM provisioning', () => {
  it('refuses a wrong or missing token with a SCIM 401, and an old token after a new one is made', async () => {
    for (const client of [new ScimClient(`${cloud.url}/scim/v2`, 'not-the-token'), new ScimClient(`${cloud.url}/scim/v2`, '')]) {
      const res = await client.request<{ schemas: string[]; status: string; detail: string }>('GET', '/Users');
      expect(res.status).toBe(401);
      expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
      expect(res.body.status).toBe('401');
    }
    const fresh = await a.client.post<{ token: string; scimTenantUrl: string }>('/company/sso/scim-token');
    const old = await scimA.request('GET', '/Users');
    expect(old.status).toBe(401);
    scimA = new ScimClient(fresh.body.scimTenantUrl, fresh.body.token);
    expect((await scimA.request('GET', '/ServiceProviderConfig')).status).toBe(200);
  });

  it('creates an employee with the default role, synced and limited, and refuses a duplicate', async () => {
    const user = await provision(scimA, idp);
    const [row] = await cloud.ctx.db.select().from(accounts).where(eq(accounts.id, user.id));
    expect(row).toMatchObject({ companyId: a.companyId, email: user.email, name: user.name, role: 'installer', roleId: roleOne, synced: true, source: 'scim', limited: true, passwordHash: null, enabled: true });

    const probe = await scimA.findUser(user.email.toUpperCase());
    expect(probe.status).toBe(200);
    expect(probe.body.totalResults).toBe(1);
    expect(probe.body.Resources[0]).toMatchObject({ id: user.id, userName: user.email, active: true });
    // Company B's token sees none of A's users.
    expect((await scimB.findUser(user.email)).body.totalResults).toBe(0);
    expect((await scimB.request('GET', `/Users/${user.id}`)).status).toBe(404);

    const dup = await scimA.createUser({ email: user.email, name: 'Again' });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ scimType: 'uniqueness', status: '409' });
    // The Installer Admin's own email is taken too, and is not the IdP's to see.
    expect((await scimA.createUser({ email: a.email, name: 'Admin' })).status).toBe(409);
    expect((await scimA.findUser(a.email)).body.totalResults).toBe(0);

    const [line] = await cloud.ctx.db.select().from(operationLogs).where(and(eq(operationLogs.action, 'Add Employee'), eq(operationLogs.target, user.email)));
    expect(line).toMatchObject({ companyId: a.companyId, accountEmail: a.email, detail: 'by Azure AD sync', client: 'api', result: 'succeeded' });
  });

  it('changing the default role leaves existing accounts alone; new ones get the new role', async () => {
    const before = await provision(scimA, null);
    expect((await a.client.patch('/company/sso', { defaultRoleId: roleTwo })).status).toBe(200);
    const after = await provision(scimA, null);
    const roleOf = async (id: string) => (await cloud.ctx.db.select({ roleId: accounts.roleId }).from(accounts).where(eq(accounts.id, id)))[0]!.roleId;
    expect(await roleOf(before.id)).toBe(roleOne);
    expect(await roleOf(after.id)).toBe(roleTwo);
    expect((await a.client.patch('/company/sso', { defaultRoleId: roleOne })).status).toBe(200);
  });

  it('refuses groups with 501, and new users while Sync Accounts is off (changes still apply)', async () => {
    const groups = await scimA.request<{ status: string; detail: string }>('POST', '/Groups', { displayName: 'Engineers' });
    expect(groups.status).toBe(501);
    expect(groups.body.detail).toMatch(/Provision Microsoft Entra ID Groups/);
    expect((await scimA.request('GET', '/Groups?filter=displayName eq "x"')).status).toBe(501);

    const kept = await provision(scimA, null);
    expect((await a.client.patch('/company/sso', { syncEnabled: false })).status).toBe(200);
    const refused = await scimA.createUser({ email: email('late'), name: 'Late' });
    expect(refused.status).toBe(403);
    const renamed = await scimA.patch(kept.id, [{ op: 'Replace', path: 'displayName', value: 'Renamed' }]);
    expect(renamed.status).toBe(200);
    expect(renamed.body.displayName).toBe('Renamed');
    expect((await a.client.patch('/company/sso', { syncEnabled: true })).status).toBe(200);
  });
});

describe('sign-in through the identity provider', () => {
  it('signs a synced member in with the role SCIM gave it', async () => {
    const user = await provision(scimA, idp);
    const res = await signIn(user.email);
    expect(res).toMatchObject({ status: 303, location: '/sites' });
    expect(res.cookie).toMatch(/^vigil_session=/);
    const session = new ApiClient(cloud.api);
    session.cookie = res.cookie;
    const me = await session.get<MeReply>('/me');
    expect(me.status).toBe(200);
    expect(me.body.account).toMatchObject({ id: user.id, email: user.email, synced: true, limited: true });
    // The role's accounts.manage; site.manage_all is a management permission a limited account does not hold.
    expect(me.body.permissions).toEqual(['accounts.manage']);
    expect(await lastLogin(user.id)).toMatchObject({ result: 'succeeded', client: 'portal' });
  });

  it('deactivation (SCIM active=false) ends the session and refuses the next sign-in; deletion removes the account', async () => {
    const user = await provision(scimA, idp);
    const other = await provision(scimA, idp);
    const signedIn = await signIn(user.email);
    const session = new ApiClient(cloud.api);
    session.cookie = signedIn.cookie;
    expect((await session.get('/me')).status).toBe(200);

    const off = await scimA.setActive(user.id, false); // Entra's {"op":"Replace","path":"active","value":"False"}
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    expect((await session.get('/me')).status).toBe(401);

    const again = await start(user.email);
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('SSO_UNAVAILABLE');
    // An answer the identity provider still sends for the account is refused at the ACS.
    const req = await authnRequest(other.email);
    const forged = await idp.signedResponse({ email: user.email, audience: req.audience, acsUrl: req.acsUrl, inResponseTo: req.id });
    expect(await postAcs(req.acsUrl, { SAMLResponse: forged })).toEqual(refusedWith('ACCOUNT_DISABLED'));
    expect(await lastLogin(user.id)).toMatchObject({ result: 'failed' });

    expect((await scimA.setActive(user.id, true)).body.active).toBe(true);
    expect((await signIn(user.email)).location).toBe('/sites');

    expect((await scimA.deleteUser(user.id)).status).toBe(204);
    expect(await cloud.ctx.db.select().from(accounts).where(eq(accounts.id, user.id))).toEqual([]);
    expect((await scimA.request('GET', `/Users/${user.id}`)).status).toBe(404);
  });

  it('refuses every sign-in while Azure AD Login is off', async () => {
    const user = await provision(scimA, idp);
    const req = await authnRequest(user.email);
    expect((await a.client.patch('/company/sso', { loginEnabled: false })).status).toBe(200);
    try {
      const res = await start(user.email);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('SSO_UNAVAILABLE');
      const answer = await idp.signedResponse({ email: user.email, audience: req.audience, acsUrl: req.acsUrl, inResponseTo: req.id });
      expect(await postAcs(req.acsUrl, { SAMLResponse: answer })).toEqual(refusedWith('SSO_LOGIN_DISABLED'));
    } finally {
      await a.client.patch('/company/sso', { loginEnabled: true });
    }
  });

  it('refuses guest and personal accounts of the tenant', async () => {
    for (const kind of ['guest', 'personal'] as const) {
      const user = await provision(scimA, idp, kind);
      expect(await signIn(user.email)).toEqual(refusedWith('SSO_ACCOUNT_NOT_ALLOWED'));
      expect(await lastLogin(user.id)).toMatchObject({ result: 'failed' });
    }
  });

  it('refuses an unknown email with the same answer as an account that does not sign in this way', async () => {
    const unknown = await start('nobody@contoso.test');
    const password = await start(a.email);
    expect([unknown.status, password.status]).toEqual([404, 404]);
    expect([unknown.body.code, password.body.code]).toEqual(['SSO_UNAVAILABLE', 'SSO_UNAVAILABLE']);
    expect(unknown.body.message).toBe(password.body.message);
  });
});

describe('assertion security', () => {
  it('refuses an assertion signed with another key', async () => {
    const user = await provision(scimA, idp);
    const req = await authnRequest(user.email);
    const forged = await idp.signedResponse({ email: user.email, audience: req.audience, acsUrl: req.acsUrl, inResponseTo: req.id, foreignKey: true });
    expect(await postAcs(req.acsUrl, { SAMLResponse: forged })).toEqual(refusedWith('SSO_ASSERTION_INVALID'));
    // Tampering with a validly signed response breaks its signature too.
    const req2 = await authnRequest(user.email);
    const good = Buffer.from(await idp.signedResponse({ email: user.email, audience: req2.audience, acsUrl: req2.acsUrl, inResponseTo: req2.id }), 'base64').toString('utf8');
    const tampered = Buffer.from(good.replaceAll(`>${user.email}<`, `>${a.email}<`)).toString('base64');
    expect(await postAcs(req2.acsUrl, { SAMLResponse: tampered })).toEqual(refusedWith('SSO_ASSERTION_INVALID'));
  });

  it('refuses a replayed response and a reused assertion ID', async () => {
    const user = await provision(scimA, idp);
    const form = await throughIdp(user.email);
    expect((await postAcs(form.action, form.fields)).location).toBe('/sites');
    expect(await postAcs(form.action, form.fields)).toEqual(refusedWith('SSO_ASSERTION_INVALID'));

    // Even answering a fresh request, an assertion ID the cloud has accepted is not accepted again.
    const first = await authnRequest(user.email);
    const assertionId = `_${crypto.randomUUID()}`;
    const one = await idp.signedResponse({ email: user.email, audience: first.audience, acsUrl: first.acsUrl, inResponseTo: first.id, assertionId });
    expect((await postAcs(first.acsUrl, { SAMLResponse: one })).location).toBe('/sites');
    const second = await authnRequest(user.email);
    const reused = await idp.signedResponse({ email: user.email, audience: second.audience, acsUrl: second.acsUrl, inResponseTo: second.id, assertionId });
    expect(await postAcs(second.acsUrl, { SAMLResponse: reused })).toEqual(refusedWith('SSO_ASSERTION_INVALID'));
    const seen = await cloud.ctx.db.select().from(samlIds).where(eq(samlIds.id, `assertion:${assertionId}`));
    expect(seen).toHaveLength(1);
  });

  it('refuses unsolicited responses, unknown or another company’s InResponseTo, a wrong audience or recipient, and an expired assertion', async () => {
    const user = await provision(scimA, idp);
    const userB = await provision(scimB, idpB);
    const acsA = configA.replyUrl;
    const base = { email: user.email, audience: configA.spEntityId, acsUrl: acsA };
    const cases = [
      await idp.signedResponse({ ...base, inResponseTo: null }),
      await idp.signedResponse({ ...base, inResponseTo: '_never-sent' }),
      await idp.signedResponse({ ...base, inResponseTo: (await authnRequest(userB.email)).id }),
      await idp.signedResponse({ ...base, audience: configB.spEntityId, inResponseTo: (await authnRequest(user.email)).id }),
      await idp.signedResponse({ ...base, inResponseTo: (await authnRequest(user.email)).id, validMinutes: -10 }),
      await idp.signedResponse({ ...base, acsUrl: configB.replyUrl, inResponseTo: (await authnRequest(user.email)).id }),
    ];
    for (const SAMLResponse of cases) expect(await postAcs(acsA, { SAMLResponse })).toEqual(refusedWith('SSO_ASSERTION_INVALID'));
    expect(await postAcs(acsA, {})).toEqual(refusedWith('SSO_ASSERTION_INVALID'));
  });

  it('refuses, at company B, an assertion of company A’s tenant', async () => {
    const userB = await provision(scimB, idpB);
    const reqB = await authnRequest(userB.email);
    // Signed by A's tenant, addressed to B.
    const fromA = await idp.signedResponse({ email: userB.email, audience: reqB.audience, acsUrl: reqB.acsUrl, inResponseTo: reqB.id });
    expect(await postAcs(reqB.acsUrl, { SAMLResponse: fromA })).toEqual(refusedWith('SSO_ASSERTION_INVALID'));
    // Signed by B's key but claiming A's tenant.
    const reqB2 = await authnRequest(userB.email);
    const wrongTenant = await idpB.signedResponse({ email: userB.email, audience: reqB2.audience, acsUrl: reqB2.acsUrl, inResponseTo: reqB2.id, tenantId: idp.tenantId });
    expect(await postAcs(reqB2.acsUrl, { SAMLResponse: wrongTenant })).toEqual(refusedWith('SSO_ACCOUNT_NOT_ALLOWED'));
    // An account of company A cannot sign in at company B's ACS either.
    const userA = await provision(scimA, idp);
    const reqB3 = await authnRequest(userB.email);
    const crossed = await idpB.signedResponse({ email: userA.email, audience: reqB3.audience, acsUrl: reqB3.acsUrl, inResponseTo: reqB3.id });
    expect(await postAcs(reqB3.acsUrl, { SAMLResponse: crossed })).toEqual(refusedWith('SSO_UNAVAILABLE'));
    // And B's member signs in normally.
    expect((await signIn(userB.email)).location).toBe('/sites');
  });
});
