import { X509Certificate } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { SsoErrorCode } from '@vigil/protocol/api';
import { AppError } from '../http/errors.js';

const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
/** Microsoft Entra ID names its tenants' issuers so: the tenant is the GUID inside. */
const ENTRA_ISSUER = /^https:\/\/sts\.windows\.net\/([0-9a-f-]{36})\/$/i;

export interface IdpMetadata {
  entityId: string;
  ssoUrl: string;
  /** PEM certificates the assertions are signed with. */
  certs: string[];
  tenantId: string;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  // Elements that may repeat are always arrays, so one and many read alike.
  isArray: (name) => ['IDPSSODescriptor', 'KeyDescriptor', 'SingleSignOnService', 'X509Certificate', 'X509Data'].includes(name),
  processEntities: false,
});

type Node = Record<string, unknown>;
const nodes = (v: unknown): Node[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((n): n is Node => typeof n === 'object' && n !== null);
const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'object' && v !== null && typeof (v as Node)['#text'] === 'string' ? ((v as Node)['#text'] as string) : '');

const invalid = (why: string) => new AppError(422, SsoErrorCode.metadataInvalid, `The metadata document is not usable: ${why}.`);

/** The tenant an identity provider's entity ID names: Entra's GUID, or the whole entity ID for other providers. */
export const tenantOf = (entityId: string): string => ENTRA_ISSUER.exec(entityId)?.[1]?.toLowerCase() ?? entityId;

export function pemOf(base64Der: string): string {
  const body = base64Der.replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** Reads a SAML IdP metadata document (Entra's "Federation Metadata XML"); throws 422 SSO_METADATA_INVALID. */
export function parseIdpMetadata(xml: string): IdpMetadata {
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch {
    throw invalid('it is not well-formed XML');
  }
  const entity = nodes(doc.EntityDescriptor)[0];
  if (!entity) throw invalid('there is no EntityDescriptor');
  const entityId = typeof entity['@entityID'] === 'string' ? entity['@entityID'].trim() : '';
  if (!entityId) throw invalid('the EntityDescriptor has no entityID');
  const idp = nodes(entity.IDPSSODescriptor)[0];
  if (!idp) throw invalid('there is no IDPSSODescriptor');
  const sso = nodes(idp.SingleSignOnService).find((s) => s['@Binding'] === REDIRECT_BINDING);
  const ssoUrl = typeof sso?.['@Location'] === 'string' ? sso['@Location'] : '';
  if (!/^https?:\/\//.test(ssoUrl)) throw invalid('there is no SingleSignOnService with the HTTP-Redirect binding');
  // A KeyDescriptor without "use" serves signing too.
  const certs = nodes(idp.KeyDescriptor)
    .filter((k) => k['@use'] === undefined || k['@use'] === 'signing')
    .flatMap((k) => nodes(k.KeyInfo).flatMap((ki) => nodes(ki.X509Data).flatMap((d) => (d.X509Certificate as unknown[] | undefined) ?? [])))
    .map((c) => text(c).replace(/\s+/g, ''))
    .filter((c) => c.length > 0);
  const pems = [...new Set(certs)].map((c) => {
    const pem = pemOf(c);
    try {
      new X509Certificate(pem);
    } catch {
      throw invalid('a signing certificate cannot be read');
    }
    return pem;
  });
  if (pems.length === 0) throw invalid('there is no signing certificate');
  return { entityId, ssoUrl, certs: pems, tenantId: tenantOf(entityId) };
}

/** What the admin sees of a certificate: its SHA-256 fingerprint and when it stops being valid. */
export function certificateInfo(pem: string): { fingerprint: string; notAfter: string } {
  const cert = new X509Certificate(pem);
  return { fingerprint: cert.fingerprint256, notAfter: new Date(cert.validTo).toISOString() };
}
