import { fail, ok, type Result } from '../result.js';
import { buildEnvelope, parseResponse, requestOperation, type SoapEnvelope } from './soap.js';
import { attr, child, childNode, childText, children, element, isNode, textElement, textOf, type XmlNode } from './xml.js';

/** The path the simulated devices serve the event service on (announced in GetCapabilities and GetServices). */
export const EVENTS_SERVICE_PATH = '/onvif/events_service';
/** Pull points live under this path, one per subscription (`/onvif/pullpoint/<id>`). */
export const PULL_POINT_PATH_PREFIX = '/onvif/pullpoint/';

/** Namespaces of the event messages besides the ONVIF ones (declared where they are used). */
export const EventNs = {
  /** WS-BaseNotification. */
  wsnt: 'http://docs.oasis-open.org/wsn/b-2',
  /** WS-Topics. */
  wstop: 'http://docs.oasis-open.org/wsn/t-1',
  /** WS-Addressing 1.0, which WS-Notification endpoint references use (not the 2004/08 one of WS-Discovery). */
  wsa: 'http://www.w3.org/2005/08/addressing',
  /** The ONVIF topic namespace. */
  tns1: 'http://www.onvif.org/ver10/topics',
  xs: 'http://www.w3.org/2001/XMLSchema',
} as const;

/** ONVIF's topic expression dialect: a concrete topic, or several joined by `|`, each may end in `//.` for its subtree. */
export const TOPIC_DIALECT = 'http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet';
const WSN_CONCRETE_DIALECT = 'http://docs.oasis-open.org/wsn/t-1/TopicExpression/ConcreteSet';
const ITEM_FILTER_DIALECT = 'http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter';

/** Motion topics of a camera: the cell motion detector rule and the video source's motion alarm. */
export const MotionTopic = {
  cellMotion: 'tns1:RuleEngine/CellMotionDetector/Motion',
  motionAlarm: 'tns1:VideoSource/MotionAlarm',
} as const;

/**
 * Video analytics rules of a camera (ONVIF Analytics Service, rule engine topics): intrusion is a property of a
 * field detector rule (data `IsInside`, true while an object is inside the field); line crossing is a plain
 * event of a line detector rule, one message per crossing (data `ObjectId`).
 */
export const AnalyticsTopic = {
  fieldDetector: 'tns1:RuleEngine/FieldDetector/ObjectsInside',
  lineDetector: 'tns1:RuleEngine/LineDetector/Crossed',
} as const;

export type PropertyOperation = 'Initialized' | 'Changed' | 'Deleted';
const PROPERTY_OPERATIONS: readonly string[] = ['Initialized', 'Changed', 'Deleted'];

export interface SimpleItem {
  name: string;
  value: string;
}

/** One notification: a topic (`tns1:` prefixed path), when it happened on the device's clock, and its items. */
export interface NotificationMessage {
  topic: string;
  utcTime: Date;
  propertyOperation?: PropertyOperation;
  source: SimpleItem[];
  data: SimpleItem[];
}

/** How a device describes one of its topics in GetEventProperties. */
export interface TopicDescription {
  topic: string;
  isProperty: boolean;
  /** Item names with their XML Schema types (e.g. `tt:ReferenceToken`, `xs:boolean`). */
  source: readonly { name: string; type: string }[];
  data: readonly { name: string; type: string }[];
}

/** The longest wait a pull point grants and the most messages it hands out at once. */
export const MAX_PULL_TIMEOUT_MS = 60_000;
export const MAX_MESSAGE_LIMIT = 100;
const MAX_ADDRESS = 2048;
const MAX_ITEMS = 32;
const MAX_ITEM_TEXT = 256;

// ------------------------------------------------------------------------------------------------ xs:duration

const DURATION = /^P(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,9}(?:\.\d{1,9})?)S)?)?$/;

/** Milliseconds of an xs:duration in days, hours, minutes and seconds (`PT1M`, `PT0.5S`, `P1DT2H`); years and months have no fixed length and are refused. */
export function parseXsDuration(text: string): Result<number> {
  const t = text.trim();
  const m = DURATION.exec(t);
  if (!m || t === 'P' || t.endsWith('T')) return fail(`not an xs:duration in days, hours, minutes and seconds: ${t.slice(0, 64)}`);
  const [, d = '0', h = '0', min = '0', s = '0'] = m;
  return ok(Math.round(((Number(d) * 24 + Number(h)) * 60 + Number(min)) * 60_000 + Number(s) * 1000));
}

/** An xs:duration in seconds (`PT60S`, `PT0.5S`). */
export function formatXsDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError('a duration must be a non-negative number of milliseconds');
  return `PT${Number((ms / 1000).toFixed(3))}S`;
}

const utc = (d: Date): string => {
  if (!Number.isFinite(d.getTime())) throw new RangeError('invalid date');
  return d.toISOString();
};

/** A time given as a duration from now or as an absolute xs:dateTime (WS-BaseNotification allows both). */
export type TerminationTime = { inMs: number } | { at: Date };

function parseTermination(text: string): Result<TerminationTime> {
  const t = text.trim();
  if (t.startsWith('P')) {
    const d = parseXsDuration(t);
    return d.ok ? ok({ inMs: d.value }) : d;
  }
  const at = parseDateTime(t);
  return at ? ok({ at }) : fail(`not a duration or a date-time: ${t.slice(0, 64)}`);
}

function parseDateTime(text: string | undefined): Date | undefined {
  const t = text?.trim();
  if (!t || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(t)) return undefined;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

// ------------------------------------------------------------------------------------------------ shared pieces

const NS_DECL = {
  'xmlns:wsnt': EventNs.wsnt,
  'xmlns:wsa': EventNs.wsa,
  'xmlns:tns1': EventNs.tns1,
} as const;

/** A request to the event service or a pull point; `to` is written as the WS-Addressing destination. */
function buildRequest(body: string, securityHeader: string | undefined, to?: string): string {
  const header = [securityHeader ?? '', to === undefined ? '' : textElement('wsa:To', to, { 'xmlns:wsa': EventNs.wsa })].join('');
  return buildEnvelope({ ...(header === '' ? {} : { header }), body, namespaces: ['tev', 'tt'] });
}

const reply = (body: string): string => buildEnvelope({ body, namespaces: ['tev', 'tt'] });

function checkAddress(address: string): void {
  let u: URL;
  try {
    u = new URL(address);
  } catch {
    throw new RangeError(`subscription address is not a URI: ${address}`);
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || address.length > MAX_ADDRESS) throw new RangeError('subscription address must be an http URI');
}

const addressOf = (node: XmlNode | undefined): string | undefined => {
  const a = childText(node, 'Address')?.trim();
  return a && a.length <= MAX_ADDRESS && /^https?:\/\//i.test(a) ? a : undefined;
};

// ------------------------------------------------------------------------------------------------ topics

/**
 * True when a topic expression of the ConcreteSet dialect selects `topic`. Prefixes are ignored (devices and
 * clients name the ONVIF topic namespace differently); `A//.` selects A and everything below it.
 */
export function topicMatches(expression: string, topic: string): boolean {
  const path = stripTopicPrefix(topic);
  return expression
    .split('|')
    .map((term) => term.trim())
    .some((term) => {
      if (term.endsWith('//.')) {
        const root = stripTopicPrefix(term.slice(0, -3));
        return path === root || path.startsWith(`${root}/`);
      }
      return stripTopicPrefix(term) === path;
    });
}

const stripTopicPrefix = (topic: string): string =>
  topic
    .split('/')
    .map((step) => step.slice(step.indexOf(':') + 1))
    .join('/');

/** Checks that an expression is one this package can evaluate (topic paths joined by `|`). */
function topicExpressionProblem(expression: string): string | undefined {
  const terms = expression.split('|').map((t) => t.trim());
  const step = /^([A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*$/;
  for (const term of terms) {
    const path = term.endsWith('//.') ? term.slice(0, -3) : term;
    if (path === '' || !path.split('/').every((s) => step.test(s))) return `unsupported topic expression: ${expression.slice(0, 128)}`;
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------------ requests

export const buildGetEventProperties = (securityHeader?: string): string => buildRequest(element('tev:GetEventProperties'), securityHeader);

export interface CreatePullPointRequest {
  initialTerminationTime?: TerminationTime;
  /** A topic expression (ConcreteSet dialect) limiting what the subscription receives. */
  topicFilter?: string;
}

export function buildCreatePullPointSubscription(req: CreatePullPointRequest = {}, securityHeader?: string): string {
  if (req.topicFilter !== undefined) {
    const problem = topicExpressionProblem(req.topicFilter);
    if (problem) throw new RangeError(problem);
  }
  const term = req.initialTerminationTime;
  return buildRequest(
    element('tev:CreatePullPointSubscription', [
      req.topicFilter === undefined
        ? ''
        : element('tev:Filter', textElement('wsnt:TopicExpression', req.topicFilter, { Dialect: TOPIC_DIALECT }), NS_DECL),
      term === undefined ? '' : textElement('tev:InitialTerminationTime', 'inMs' in term ? formatXsDuration(term.inMs) : utc(term.at)),
    ]),
    securityHeader,
  );
}

/**
 * Reads a CreatePullPointSubscription request. A topic filter in another dialect, or one this package cannot
 * evaluate, is an error (the device must refuse what it would not honour); message content filters likewise.
 */
export function parseCreatePullPointSubscriptionRequest(input: SoapEnvelope | string | Uint8Array): Result<CreatePullPointRequest> {
  const node = requestOperation(input, 'CreatePullPointSubscription');
  if (!node.ok) return node;
  const out: CreatePullPointRequest = {};
  const filter = childNode(node.value, 'Filter');
  if (children(filter, 'MessageContent').length > 0) return fail('message content filters are not supported');
  const expressions = children(filter, 'TopicExpression');
  if (expressions.length > 1) return fail('only one TopicExpression is supported');
  const expression = expressions[0];
  if (expression !== undefined) {
    const dialect = attr(expression, 'Dialect')?.trim();
    if (dialect !== undefined && dialect !== TOPIC_DIALECT && dialect !== WSN_CONCRETE_DIALECT) return fail(`unsupported topic expression dialect ${dialect}`);
    const text = textOf(expression)?.trim() ?? '';
    const problem = topicExpressionProblem(text);
    if (problem) return fail(problem);
    out.topicFilter = text;
  }
  const term = childText(node.value, 'InitialTerminationTime');
  if (term !== undefined && term.trim() !== '') {
    const t = parseTermination(term);
    if (!t.ok) return fail(`InitialTerminationTime: ${t.error}`);
    out.initialTerminationTime = t.value;
  }
  return ok(out);
}

export interface PullMessagesRequest {
  timeoutMs: number;
  messageLimit: number;
}

/** `PullMessages`, sent to the subscription's address (`to`). */
export function buildPullMessages(req: PullMessagesRequest & { to: string }, securityHeader?: string): string {
  checkAddress(req.to);
  return buildRequest(
    element('tev:PullMessages', [textElement('tev:Timeout', formatXsDuration(req.timeoutMs)), textElement('tev:MessageLimit', req.messageLimit)]),
    securityHeader,
    req.to,
  );
}

/** Reads a PullMessages request; Timeout and MessageLimit are mandatory, and larger ones are cut to what the device grants. */
export function parsePullMessagesRequest(input: SoapEnvelope | string | Uint8Array): Result<PullMessagesRequest> {
  const node = requestOperation(input, 'PullMessages');
  if (!node.ok) return node;
  const timeout = parseXsDuration(childText(node.value, 'Timeout') ?? '');
  if (!timeout.ok) return fail(`Timeout: ${timeout.error}`);
  const limit = childText(node.value, 'MessageLimit')?.trim() ?? '';
  if (!/^\d{1,9}$/.test(limit) || Number(limit) < 1) return fail('MessageLimit must be a positive integer');
  return ok({ timeoutMs: Math.min(timeout.value, MAX_PULL_TIMEOUT_MS), messageLimit: Math.min(Number(limit), MAX_MESSAGE_LIMIT) });
}

export function buildRenew(req: { to: string; terminationTime: TerminationTime }, securityHeader?: string): string {
  checkAddress(req.to);
  const t = req.terminationTime;
  return buildRequest(
    element('wsnt:Renew', textElement('wsnt:TerminationTime', 'inMs' in t ? formatXsDuration(t.inMs) : utc(t.at)), { 'xmlns:wsnt': EventNs.wsnt }),
    securityHeader,
    req.to,
  );
}

/** Reads a Renew request; without a TerminationTime the device picks its default. */
export function parseRenewRequest(input: SoapEnvelope | string | Uint8Array): Result<{ terminationTime?: TerminationTime }> {
  const node = requestOperation(input, 'Renew');
  if (!node.ok) return node;
  const text = childText(node.value, 'TerminationTime');
  if (text === undefined || text.trim() === '') return ok({});
  const t = parseTermination(text);
  return t.ok ? ok({ terminationTime: t.value }) : fail(`TerminationTime: ${t.error}`);
}

export function buildUnsubscribe(to: string, securityHeader?: string): string {
  checkAddress(to);
  return buildRequest(element('wsnt:Unsubscribe', '', { 'xmlns:wsnt': EventNs.wsnt }), securityHeader, to);
}

// ------------------------------------------------------------------------------------------------ responses

function itemDescriptions(items: readonly { name: string; type: string }[]): string[] {
  return items.map((i) => element('tt:SimpleItemDescription', '', { Name: i.name, Type: i.type }));
}

/** The topic set as nested elements: `tns1:RuleEngine/CellMotionDetector/Motion` becomes three levels. */
function topicSet(topics: readonly TopicDescription[]): string {
  interface Level {
    children: Map<string, Level>;
    description?: TopicDescription;
  }
  const root: Level = { children: new Map() };
  for (const t of topics) {
    const steps = t.topic.split('/');
    if (steps.length < 2 || !steps[0]!.startsWith('tns1:') || steps.some((s, i) => !/^[A-Za-z_][\w.-]*$/.test(i === 0 ? s.slice(5) : s))) {
      throw new RangeError(`topic must be a tns1: path: ${t.topic}`);
    }
    let level = root;
    for (const s of steps) {
      let next = level.children.get(s);
      if (!next) level.children.set(s, (next = { children: new Map() }));
      level = next;
    }
    level.description = t;
  }
  const write = (name: string, level: Level): string => {
    const d = level.description;
    const description = d
      ? element(
          'tt:MessageDescription',
          [element('tt:Source', itemDescriptions(d.source)), element('tt:Data', itemDescriptions(d.data))],
          { IsProperty: d.isProperty },
        )
      : '';
    const inner = [description, ...[...level.children].map(([n, l]) => write(n, l))];
    return element(name, inner, d ? { 'wstop:topic': true } : undefined);
  };
  return element('wstop:TopicSet', [...root.children].map(([n, l]) => write(n, l)));
}

/** The reply to GetEventProperties: the device's topics and the dialects it understands. */
export function buildGetEventPropertiesResponse(topics: readonly TopicDescription[]): string {
  return reply(
    element(
      'tev:GetEventPropertiesResponse',
      [
        textElement('tev:TopicNamespaceLocation', 'http://www.onvif.org/onvif/ver10/topics/topicns.xml'),
        textElement('wsnt:FixedTopicSet', true),
        topicSet(topics),
        textElement('wsnt:TopicExpressionDialect', TOPIC_DIALECT),
        textElement('wsnt:TopicExpressionDialect', WSN_CONCRETE_DIALECT),
        textElement('tev:MessageContentFilterDialect', ITEM_FILTER_DIALECT),
        textElement('tev:MessageContentSchemaLocation', 'http://www.onvif.org/onvif/ver10/schema/onvif.xsd'),
      ],
      { ...NS_DECL, 'xmlns:wstop': EventNs.wstop, 'xmlns:xs': EventNs.xs },
    ),
  );
}

/** Topic names of a GetEventProperties reply, as `tns1:`-style paths of the elements marked `wstop:topic`. */
export function parseGetEventPropertiesResponse(input: string | Uint8Array): Result<string[]> {
  const node = parseResponse(input, 'GetEventPropertiesResponse');
  if (!node.ok) return node;
  const set = childNode(node.value, 'TopicSet');
  const out: string[] = [];
  const walk = (n: XmlNode, path: string[], depth: number): void => {
    if (depth > 8) return;
    for (const [name, value] of Object.entries(n)) {
      if (name.startsWith('@_') || name === '#text' || name === 'MessageDescription') continue;
      for (const v of Array.isArray(value) ? value : [value]) {
        if (!isNode(v)) continue;
        const here = [...path, name];
        if (attr(v, 'topic') === 'true') out.push(`tns1:${here.join('/')}`);
        walk(v, here, depth + 1);
      }
    }
  };
  if (set) walk(set, [], 0);
  return ok(out);
}

export interface SubscriptionTimes {
  currentTime: Date;
  terminationTime: Date;
}

export function buildCreatePullPointSubscriptionResponse(r: SubscriptionTimes & { address: string }): string {
  checkAddress(r.address);
  return reply(
    element(
      'tev:CreatePullPointSubscriptionResponse',
      [
        element('tev:SubscriptionReference', textElement('wsa:Address', r.address)),
        textElement('wsnt:CurrentTime', utc(r.currentTime)),
        textElement('wsnt:TerminationTime', utc(r.terminationTime)),
      ],
      NS_DECL,
    ),
  );
}

function timesOf(node: XmlNode, what: string): Result<SubscriptionTimes> {
  const currentTime = parseDateTime(childText(node, 'CurrentTime'));
  const terminationTime = parseDateTime(childText(node, 'TerminationTime'));
  if (!currentTime || !terminationTime) return fail(`${what} lacks CurrentTime or TerminationTime`);
  return ok({ currentTime, terminationTime });
}

export function parseCreatePullPointSubscriptionResponse(input: string | Uint8Array): Result<SubscriptionTimes & { address: string }> {
  const node = parseResponse(input, 'CreatePullPointSubscriptionResponse');
  if (!node.ok) return node;
  const address = addressOf(childNode(node.value, 'SubscriptionReference'));
  if (!address) return fail('CreatePullPointSubscriptionResponse lacks an http SubscriptionReference Address');
  const times = timesOf(node.value, 'CreatePullPointSubscriptionResponse');
  return times.ok ? ok({ address, ...times.value }) : times;
}

function checkItems(items: readonly SimpleItem[]): void {
  if (items.length > MAX_ITEMS) throw new RangeError(`at most ${MAX_ITEMS} items`);
  for (const i of items) {
    if (i.name.length === 0 || i.name.length > MAX_ITEM_TEXT || i.value.length > MAX_ITEM_TEXT) throw new RangeError('item names must be 1 and values 0 to 256 characters');
  }
}

const simpleItems = (items: readonly SimpleItem[]): string[] => items.map((i) => element('tt:SimpleItem', '', { Name: i.name, Value: i.value }));

function notificationElement(m: NotificationMessage, subscriptionAddress: string | undefined): string {
  checkItems(m.source);
  checkItems(m.data);
  if (!/^tns1:[\w./-]+$/.test(m.topic)) throw new RangeError(`topic must be a tns1: path: ${m.topic}`);
  return element('wsnt:NotificationMessage', [
    subscriptionAddress === undefined ? '' : element('wsnt:SubscriptionReference', textElement('wsa:Address', subscriptionAddress)),
    textElement('wsnt:Topic', m.topic, { Dialect: TOPIC_DIALECT }),
    element(
      'wsnt:Message',
      element('tt:Message', [element('tt:Source', simpleItems(m.source)), element('tt:Data', simpleItems(m.data))], {
        UtcTime: utc(m.utcTime),
        PropertyOperation: m.propertyOperation,
      }),
    ),
  ]);
}

/** The reply to PullMessages: the subscription's times and the messages handed out (possibly none). */
export function buildPullMessagesResponse(r: SubscriptionTimes & { messages: readonly NotificationMessage[]; subscriptionAddress?: string }): string {
  if (r.subscriptionAddress !== undefined) checkAddress(r.subscriptionAddress);
  return reply(
    element(
      'tev:PullMessagesResponse',
      [
        textElement('tev:CurrentTime', utc(r.currentTime)),
        textElement('tev:TerminationTime', utc(r.terminationTime)),
        ...r.messages.map((m) => notificationElement(m, r.subscriptionAddress)),
      ],
      NS_DECL,
    ),
  );
}

function itemsOf(node: XmlNode | undefined): SimpleItem[] {
  const out: SimpleItem[] = [];
  for (const i of children(node, 'SimpleItem').slice(0, MAX_ITEMS)) {
    const name = attr(i, 'Name');
    const value = attr(i, 'Value');
    if (name && value !== undefined && name.length <= MAX_ITEM_TEXT && value.length <= MAX_ITEM_TEXT) out.push({ name, value });
  }
  return out;
}

/**
 * Reads a PullMessages reply. Notifications without a topic or an ONVIF Message with a UtcTime are skipped;
 * the topic keeps the prefix the device wrote.
 */
export function parsePullMessagesResponse(input: string | Uint8Array): Result<SubscriptionTimes & { messages: NotificationMessage[] }> {
  const node = parseResponse(input, 'PullMessagesResponse');
  if (!node.ok) return node;
  const times = timesOf(node.value, 'PullMessagesResponse');
  if (!times.ok) return times;
  const messages: NotificationMessage[] = [];
  for (const n of children(node.value, 'NotificationMessage').slice(0, MAX_MESSAGE_LIMIT)) {
    if (!isNode(n)) continue;
    const topic = textOf(child(n, 'Topic'));
    const message = childNode(childNode(n, 'Message'), 'Message');
    const utcTime = parseDateTime(attr(message, 'UtcTime'));
    if (!topic || topic.trim() === '' || !message || !utcTime) continue;
    const op = attr(message, 'PropertyOperation');
    messages.push({
      topic: topic.trim(),
      utcTime,
      ...(op !== undefined && PROPERTY_OPERATIONS.includes(op) ? { propertyOperation: op as PropertyOperation } : {}),
      source: itemsOf(childNode(message, 'Source')),
      data: itemsOf(childNode(message, 'Data')),
    });
  }
  return ok({ ...times.value, messages });
}

export const buildRenewResponse = (r: SubscriptionTimes): string =>
  reply(
    element('wsnt:RenewResponse', [textElement('wsnt:TerminationTime', utc(r.terminationTime)), textElement('wsnt:CurrentTime', utc(r.currentTime))], {
      'xmlns:wsnt': EventNs.wsnt,
    }),
  );

export function parseRenewResponse(input: string | Uint8Array): Result<SubscriptionTimes> {
  const node = parseResponse(input, 'RenewResponse');
  return node.ok ? timesOf(node.value, 'RenewResponse') : node;
}

export const buildUnsubscribeResponse = (): string => reply(element('wsnt:UnsubscribeResponse', '', { 'xmlns:wsnt': EventNs.wsnt }));

export const buildSetSynchronizationPointResponse = (): string => reply(element('tev:SetSynchronizationPointResponse'));
