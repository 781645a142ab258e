import { fail, ok, type Result } from '../result.js';
import { Ns, SOAP_PREFIX, type NsPrefix } from './namespaces.js';
import { child, childNode, element, elementNames, isNode, parseXml, textElement, textOf, type XmlNode } from './xml.js';

const S = SOAP_PREFIX;

export interface EnvelopeParts {
  /** The Body's content, already XML. */
  body: string;
  /** The Header's content, already XML; no Header element when absent. */
  header?: string;
  /** Namespaces (by this package's prefixes) to declare on the Envelope, besides the SOAP one. */
  namespaces?: readonly NsPrefix[];
}

/** Builds a SOAP 1.2 envelope around content produced by the builders of this package. */
export function buildEnvelope(parts: EnvelopeParts): string {
  const decl: Record<string, string> = { [`xmlns:${S}`]: Ns.soap };
  for (const p of parts.namespaces ?? []) decl[`xmlns:${p}`] = Ns[p];
  const header = parts.header === undefined ? '' : element(`${S}:Header`, parts.header);
  return `<?xml version="1.0" encoding="UTF-8"?>${element(`${S}:Envelope`, [header, element(`${S}:Body`, parts.body)], decl)}`;
}

export interface SoapEnvelope {
  /** The Header element, when there is one. */
  header: XmlNode | undefined;
  /** The Body element (may be empty). */
  body: XmlNode;
  /** Local name of the Body's first element (the operation, or `Fault`); undefined for an empty Body. */
  operation: string | undefined;
}

/** Parses a SOAP envelope into a tree without namespace prefixes. Never throws. */
export function parseEnvelope(input: string | Uint8Array): Result<SoapEnvelope> {
  const doc = parseXml(input);
  if (!doc.ok) return doc;
  const roots = elementNames(doc.value).filter((n) => !n.startsWith('?'));
  if (roots.length !== 1 || roots[0] !== 'Envelope') return fail('not a SOAP envelope: the root element must be Envelope');
  const env = child(doc.value, 'Envelope');
  if (!isNode(env)) return fail('not a SOAP envelope: empty Envelope');
  const body = childNode(env, 'Body');
  if (!body) return fail('not a SOAP envelope: no Body');
  return ok({ header: childNode(env, 'Header'), body, operation: elementNames(body)[0] });
}

/** SOAP 1.2 fault codes (ONVIF uses Sender and Receiver with its own subcodes). */
export const FaultCode = {
  sender: 'Sender',
  receiver: 'Receiver',
  versionMismatch: 'VersionMismatch',
  mustUnderstand: 'MustUnderstand',
} as const;
export type FaultCode = (typeof FaultCode)[keyof typeof FaultCode];

/** ONVIF generic fault subcodes (Core specification, "Generic faults"), written with the `ter:` prefix. */
export const FaultSubcode = {
  notAuthorized: 'ter:NotAuthorized',
  actionNotSupported: 'ter:ActionNotSupported',
  wellFormed: 'ter:WellFormed',
  invalidArgs: 'ter:InvalidArgs',
  invalidArgVal: 'ter:InvalidArgVal',
  action: 'ter:Action',
} as const;

export interface SoapFault {
  code: FaultCode | string;
  /** Subcodes from outermost to innermost, as written (e.g. `ter:NotAuthorized`). */
  subcodes: string[];
  reason: string;
  detail?: string;
}

/**
 * The HTTP status for a fault, per the SOAP 1.2 HTTP binding: Sender faults are 400, the rest 500. The
 * ONVIF Core specification asks for exactly this on a failed WS-UsernameToken (400 + ter:NotAuthorized).
 */
export const faultHttpStatus = (code: FaultCode | string): number => (code === FaultCode.sender ? 400 : 500);

/** Builds a SOAP 1.2 Fault envelope. Subcodes are written as given (`ter:` is declared). */
export function buildFault(fault: { code: FaultCode; subcodes?: readonly string[]; reason: string; detail?: string }): string {
  let sub = '';
  for (const s of [...(fault.subcodes ?? [])].reverse()) sub = element(`${S}:Subcode`, [textElement(`${S}:Value`, s), sub]);
  const body = element(`${S}:Fault`, [
    element(`${S}:Code`, [textElement(`${S}:Value`, `${S}:${fault.code}`), sub]),
    element(`${S}:Reason`, textElement(`${S}:Text`, fault.reason, { 'xml:lang': 'en' })),
    fault.detail === undefined ? '' : element(`${S}:Detail`, textElement(`${S}:Text`, fault.detail)),
  ]);
  return buildEnvelope({ body, namespaces: ['ter'] });
}

const stripPrefix = (qname: string): string => qname.slice(qname.indexOf(':') + 1);

/** Reads the Fault out of a parsed Body, if the Body holds one. */
export function parseFault(env: SoapEnvelope): SoapFault | undefined {
  const f = childNode(env.body, 'Fault');
  if (!f) return undefined;
  const code = childNode(f, 'Code');
  const subcodes: string[] = [];
  let sub = childNode(code, 'Subcode');
  while (sub && subcodes.length < 8) {
    const v = textOf(child(sub, 'Value'));
    if (v) subcodes.push(v);
    sub = childNode(sub, 'Subcode');
  }
  const reasonText = child(childNode(f, 'Reason'), 'Text');
  const detail = textOf(child(childNode(f, 'Detail'), 'Text')) ?? textOf(child(f, 'Detail'));
  return {
    code: stripPrefix(textOf(child(code, 'Value')) ?? ''),
    subcodes,
    reason: textOf(reasonText) ?? '',
    ...(detail ? { detail } : {}),
  };
}

/** True when the fault carries this subcode (compared by local name, since prefixes are the sender's choice). */
export const faultHas = (fault: SoapFault, subcode: string): boolean =>
  fault.subcodes.some((s) => stripPrefix(s) === stripPrefix(subcode));

/** One line describing a fault, for error messages. */
export const describeFault = (f: SoapFault): string =>
  `SOAP fault ${[f.code, ...f.subcodes].join('/')}: ${f.reason}${f.detail ? ` (${f.detail})` : ''}`;

/**
 * Parses a reply envelope and returns the Body's element named `response`, or the fault as an error.
 * What the per-operation parsers of this package share.
 */
export function parseResponse(input: string | Uint8Array, response: string): Result<XmlNode> {
  const env = parseEnvelope(input);
  if (!env.ok) return env;
  const fault = parseFault(env.value);
  if (fault) return fail(describeFault(fault));
  const node = childNode(env.value.body, response);
  if (!node) return fail(`expected ${response} in the SOAP Body, found ${env.value.operation ?? 'nothing'}`);
  return ok(node);
}

/** The operation element of a request, from an envelope already parsed or from raw XML. */
export function requestOperation(input: SoapEnvelope | string | Uint8Array, operation: string): Result<XmlNode> {
  let env: SoapEnvelope;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const parsed = parseEnvelope(input);
    if (!parsed.ok) return parsed;
    env = parsed.value;
  } else {
    env = input;
  }
  const node = childNode(env.body, operation);
  return node ? ok(node) : fail(`expected ${operation} in the SOAP Body, found ${env.operation ?? 'nothing'}`);
}
