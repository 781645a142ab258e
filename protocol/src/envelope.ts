import Type, { type Static } from 'typebox';
import { REQUEST_ID_PATTERN } from './ids.js';
import { DataSchemas, MessageType, type DataOf } from './messages.js';
import { fail, ok, type Result } from './result.js';
import { parseTopic, type ParsedTopic, type TopicKind } from './topics.js';
import { decoder } from './validate.js';

/** Every MQTT payload is one JSON envelope: `{v, id, ts, type, data}`, keys in that order. */
export const ENVELOPE_VERSION = 1;
/** Larger payloads are dropped by both ends. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

const EnvelopeHeaderSchema = Type.Object(
  {
    v: Type.Literal(ENVELOPE_VERSION),
    /** Unique per message; receivers de-duplicate on it. For an RPC request it is the request id. */
    id: Type.String({ pattern: REQUEST_ID_PATTERN }),
    ts: Type.Integer({ minimum: 0 }),
    type: Type.String({ maxLength: 64 }),
    data: Type.Unknown(),
  },
  { additionalProperties: false },
);
type EnvelopeHeader = Static<typeof EnvelopeHeaderSchema>;

export interface Envelope<T = unknown> {
  v: typeof ENVELOPE_VERSION;
  id: string;
  ts: number;
  type: string;
  data: T;
}

export const newMessageId = (): string => globalThis.crypto.randomUUID();

export function envelope<K extends TopicKind>(
  kind: K,
  data: DataOf[K],
  opts: { id?: string; ts?: number } = {},
): Envelope<DataOf[K]> {
  return { v: ENVELOPE_VERSION, id: opts.id ?? newMessageId(), ts: opts.ts ?? Date.now(), type: MessageType[kind], data };
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** The exact bytes of an envelope: UTF-8 JSON with keys in envelope order. */
export function encodeEnvelope(env: Envelope): Uint8Array {
  const ordered = { v: env.v, id: env.id, ts: env.ts, type: env.type, data: env.data };
  return utf8.encode(JSON.stringify(ordered));
}

export type DecodedMessage = {
  [K in TopicKind]: { topic: Extract<ParsedTopic, { kind: K }>; envelope: Envelope<DataOf[K]> };
}[TopicKind];

const headerDecoder = decoder(EnvelopeHeaderSchema);
const dataDecoders = Object.fromEntries(
  Object.entries(DataSchemas).map(([kind, schema]) => [kind, decoder(schema)]),
) as { [K in TopicKind]: ReturnType<typeof decoder<(typeof DataSchemas)[K]>> };

/** Reads one MQTT message: the topic, then the envelope, then the data the topic calls for. */
export function decodeMessage(topic: string, payload: Uint8Array): Result<DecodedMessage> {
  const parsedTopic = parseTopic(topic);
  if (!parsedTopic.ok) return parsedTopic;
  const body = decodeEnvelopeBytes(payload);
  if (!body.ok) return body;
  const kind = parsedTopic.value.kind;
  if (body.value.type !== MessageType[kind]) {
    return fail(`envelope type ${JSON.stringify(body.value.type)} does not belong on a ${kind} topic`);
  }
  const data = dataDecoders[kind].decode(body.value.data);
  if (!data.ok) return fail(`data ${data.error}`);
  return ok({ topic: parsedTopic.value, envelope: { ...body.value, data: data.value } } as DecodedMessage);
}

/** Reads the envelope without looking at its data. */
export function decodeEnvelopeBytes(payload: Uint8Array): Result<EnvelopeHeader> {
  if (payload.byteLength > MAX_MESSAGE_BYTES) return fail(`payload of ${payload.byteLength} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  let text: string;
  try {
    text = utf8Strict.decode(payload);
  } catch {
    return fail('payload is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`payload is not JSON: ${(e as Error).message}`);
  }
  const header = headerDecoder.decode(json);
  return header.ok ? header : fail(`envelope ${header.error}`);
}
