import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { fail, ok, type Result } from '../result.js';

/**
 * A parsed XML element with namespace prefixes removed: child elements by local name (an array when
 * repeated), attributes under `@_name`, mixed text under `#text`. Empty elements parse to `''`.
 */
export type XmlValue = string | XmlNode | XmlValue[];
export interface XmlNode {
  [name: string]: XmlValue;
}

/** Larger documents are refused before parsing; no ONVIF message the platform handles comes close. */
export const MAX_XML_CHARS = 1024 * 1024;

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  // Keep every value a string: serial numbers such as "0012" and versions such as "5.70" must survive.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  // Decodes numeric character references (&#65;) too.
  htmlEntities: true,
});

/** Escapes text for use in element content and in double-quoted attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

type Attrs = Record<string, string | number | boolean | undefined>;

function attrText(attrs: Attrs | undefined): string {
  if (!attrs) return '';
  let out = '';
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) out += ` ${k}="${escapeXml(String(v))}"`;
  return out;
}

/** An element whose children are already XML (built by these helpers). */
export function element(name: string, children: string | readonly string[] = '', attrs?: Attrs): string {
  const inner = typeof children === 'string' ? children : children.join('');
  return inner === '' ? `<${name}${attrText(attrs)}/>` : `<${name}${attrText(attrs)}>${inner}</${name}>`;
}

/** An element holding escaped text. */
export function textElement(name: string, text: string | number | boolean, attrs?: Attrs): string {
  return `<${name}${attrText(attrs)}>${escapeXml(String(text))}</${name}>`;
}

/** Parses a whole document. Never throws: bad input yields `{ok:false}`. */
export function parseXml(input: string | Uint8Array): Result<XmlNode> {
  const xml = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  if (xml.length > MAX_XML_CHARS) return fail(`XML document larger than ${MAX_XML_CHARS} characters`);
  // SOAP messages must not carry a DTD (SOAP 1.2 part 1, 5); refusing it also rules out entity expansion.
  if (xml.includes('<!DOCTYPE') || xml.includes('<!doctype')) return fail('XML with a document type declaration is refused');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) return fail(`malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
  try {
    const tree: unknown = parser.parse(xml);
    if (!isNode(tree)) return fail('malformed XML: no root element');
    return ok(tree);
  } catch (e) {
    return fail(`malformed XML: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export const isNode = (v: unknown): v is XmlNode => typeof v === 'object' && v !== null && !Array.isArray(v);

/** All children with this local name, as a list (XML repeats elements; the parser folds them). */
export function children(node: XmlValue | undefined, name: string): XmlValue[] {
  if (!isNode(node)) return [];
  const v = node[name];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** The first child with this local name. */
export const child = (node: XmlValue | undefined, name: string): XmlValue | undefined => children(node, name)[0];

/** The first child element (not text) with this local name, as a node; empty elements become `{}`. */
export function childNode(node: XmlValue | undefined, name: string): XmlNode | undefined {
  const c = child(node, name);
  if (c === '') return {};
  return isNode(c) ? c : undefined;
}

/** Follows a path of local names, taking the first element at each step. */
export function path(node: XmlValue | undefined, ...names: string[]): XmlValue | undefined {
  let cur: XmlValue | undefined = node;
  for (const n of names) cur = child(cur, n);
  return cur;
}

/** The text content of an element (`''` when empty), or undefined when it is absent or not text. */
export function textOf(v: XmlValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (isNode(v)) {
    const t = v['#text'];
    if (typeof t === 'string') return t;
    // An element with attributes only.
    if (Object.keys(v).every((k) => k.startsWith('@_'))) return '';
  }
  return undefined;
}

/** The text of the first child with this local name. */
export const childText = (node: XmlValue | undefined, name: string): string | undefined => textOf(child(node, name));

/** An attribute by local name. */
export function attr(v: XmlValue | undefined, name: string): string | undefined {
  if (!isNode(v)) return undefined;
  const a = v[`@_${name}`];
  return typeof a === 'string' ? a : undefined;
}

/** The local names of the child elements, in document order. */
export const elementNames = (node: XmlValue | undefined): string[] =>
  isNode(node) ? Object.keys(node).filter((k) => !k.startsWith('@_') && k !== '#text') : [];

/** Splits an xs:list value (URIs, QNames) on white space. */
export const splitList = (text: string | undefined): string[] => (text ?? '').split(/\s+/).filter((s) => s !== '');

/** The local part of a QName such as `dn:NetworkVideoTransmitter`. */
export const localName = (qname: string): string => qname.slice(qname.indexOf(':') + 1);
