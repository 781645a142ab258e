const SCIM_JSON = 'application/scim+json';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export interface ScimReply<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/**
 * Entra ID's provisioning service, reduced to the calls it makes on a SCIM 2.0 server: it looks a user up by
 * userName, creates it, patches it (in Entra's own forms: "Replace", string booleans) and deletes it.
 */
export class ScimClient {
  constructor(
    /** The Tenant URL, e.g. https://cloud.example/scim/v2. */
    readonly tenantUrl: string,
    /** The Secret Token. */
    readonly token: string,
  ) {}

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<ScimReply<T>> {
    const res = await fetch(`${this.tenantUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, accept: SCIM_JSON, ...(body === undefined ? {} : { 'content-type': SCIM_JSON }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** Entra's "Test Connection" and its probe before each create. */
  findUser(userName: string) {
    return this.request<{ totalResults: number; Resources: { id: string; userName: string; active: boolean }[] }>(
      'GET',
      `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`,
    );
  }

  createUser(user: { email: string; name: string; externalId?: string; active?: boolean }) {
    return this.request<{ id: string; userName: string; active: boolean }>('POST', '/Users', {
      schemas: [USER],
      externalId: user.externalId ?? user.email.split('@')[0],
      userName: user.email,
      active: user.active ?? true,
      displayName: user.name,
      name: { formatted: user.name },
      emails: [{ primary: true, type: 'work', value: user.email }],
    });
  }

  /** Entra's deactivation (the user is unassigned or blocked): `{"op":"Replace","path":"active","value":"False"}`. */
  setActive(id: string, active: boolean) {
    return this.patch(id, [{ op: 'Replace', path: 'active', value: active ? 'True' : 'False' }]);
  }

  patch(id: string, operations: Record<string, unknown>[]) {
    return this.request<{ id: string; userName: string; active: boolean; displayName: string }>('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: operations });
  }

  deleteUser(id: string) {
    return this.request('DELETE', `/Users/${id}`);
  }
}
