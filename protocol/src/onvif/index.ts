/** ONVIF codecs: SOAP 1.2 envelopes and faults, WS-Security UsernameToken, WS-Discovery, device, media, PTZ and event services. */
export * from './namespaces.js';
export {
  MAX_XML_CHARS,
  escapeXml,
  parseXml,
  isNode,
  child,
  children,
  childNode,
  childText,
  textOf,
  attr,
  path,
  elementNames,
  splitList,
  localName,
  type XmlNode,
  type XmlValue,
} from './xml.js';
export * from './soap.js';
export * from './username-token.js';
export * from './discovery.js';
export * from './device.js';
export * from './media.js';
export * from './ptz.js';
export * from './events.js';
