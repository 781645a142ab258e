/** XML namespaces of the ONVIF messages the platform builds, with the prefixes it writes them under. */
export const Ns = {
  /** SOAP 1.2 envelope. */
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  /** WS-Addressing as WS-Discovery 2005/04 uses it. */
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  /** WS-Discovery 2005/04, the version ONVIF requires. */
  wsd: 'http://schemas.xmlsoap.org/ws/2005/04/discovery',
  /** ONVIF device service. */
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  /** ONVIF media service (Media 1, Profile S). */
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  /** ONVIF event service. */
  tev: 'http://www.onvif.org/ver10/events/wsdl',
  /** ONVIF PTZ service. */
  tptz: 'http://www.onvif.org/ver20/ptz/wsdl',
  /** ONVIF schema types. */
  tt: 'http://www.onvif.org/ver10/schema',
  /** ONVIF faults. */
  ter: 'http://www.onvif.org/ver10/error',
  /** ONVIF network (discovery types such as NetworkVideoTransmitter). */
  dn: 'http://www.onvif.org/ver10/network/wsdl',
  /** WS-Security extension. */
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  /** WS-Security utility (Created). */
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
} as const;
export type NsPrefix = keyof typeof Ns;

/** The prefix this package writes the SOAP envelope namespace under (fault codes use it too). */
export const SOAP_PREFIX = 's';
