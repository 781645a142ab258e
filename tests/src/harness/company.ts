import { ApiClient } from '@vigil/cloud/testing';

/** Plausible answers for the authentication forms' fields; a field not listed gets a placeholder. */
const SAMPLE_FIELDS: Record<string, string> = {
  registrationNumber: '01234567',
  address: '1 High Street, London',
  contactPhone: '+44 20 7946 0000',
  website: 'https://security.example',
  vatNumber: 'GB123456789',
  handelsregister: 'Amtsgericht Berlin HRB 12345',
  ein: '12-3456789',
};

type Authentication = { status: string; form: { key: string; required: boolean }[] };

/**
 * Makes a company authenticated the way it happens in the product: its Installer Admin (`admin`, signed in) sends
 * the form of its region, and the vendor admin of the cloud at `api` approves it. Does nothing once approved.
 */
export async function authenticateThroughVendor(api: string, admin: ApiClient, vendor: { email: string; password: string }): Promise<void> {
  const current = await admin.get<Authentication & { message?: string }>('/company/authentication');
  if (current.status !== 200) throw new Error(`reading the company's authentication failed: ${JSON.stringify(current.body)}`);
  if (current.body.status === 'approved') return;
  const company = await admin.get<{ id: string; name: string }>('/company');
  if (current.body.status !== 'pending') {
    const fields = Object.fromEntries(current.body.form.filter((f) => f.required).map((f) => [f.key, f.key === 'legalName' ? company.body.name : (SAMPLE_FIELDS[f.key] ?? 'n/a')]));
    const sent = await admin.call('PUT', '/company/authentication', { fields });
    if (sent.status !== 200) throw new Error(`sending the company's authentication failed: ${JSON.stringify(sent.body)}`);
  }
  const reviewer = new ApiClient(api);
  const login = await reviewer.post('/auth/login', vendor);
  if (login.status !== 200) throw new Error(`the vendor admin could not sign in: ${JSON.stringify(login.body)}`);
  const approved = await reviewer.post(`/vendor/authentications/${company.body.id}/approve`);
  if (approved.status !== 200) throw new Error(`approving the company's authentication failed: ${JSON.stringify(approved.body)}`);
}
