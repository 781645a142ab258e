import type { FastifyInstance, FastifyRequest } from 'fastify';
import { eq } from 'drizzle-orm';
import Type from 'typebox';
import { BandwidthProbeReplySchema, ClipUploadCreateSchema, ClipUploadRefusal, ClipUploadStateSchema, type ClipPart, type ClipUploadCreate } from '@vigil/protocol';
import { ErrorCode } from '@vigil/protocol/api';
import { edges } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { tokenMatches } from '../security/secrets.js';
import { ClipRefusal } from './uploads.js';

/** The upload protocol's own body type: the bytes of a part from the offset in `Upload-Offset`. */
export const OFFSET_OCTET_STREAM = 'application/offset+octet-stream';

const ClipParams = Type.Object({ clipId: Type.String({ format: 'uuid' }) });
const PartParams = Type.Object({ clipId: Type.String({ format: 'uuid' }), part: Type.Union([Type.Literal('video'), Type.Literal('thumbnail')]) });
const OffsetHeaders = Type.Object({ 'upload-offset': Type.String({ pattern: '^(0|[1-9][0-9]{0,14})$' }) });
const BASIC = /^Basic\s+([A-Za-z0-9+/]+={0,2})$/i;

/**
 * Where edge boxes upload their clips (protocol/src/clips.ts), under `/edge/clips`. The box signs in with its own
 * credentials (HTTP Basic, the serial and secret of its MQTT login), not a portal session, so these routes are
 * outside the portal's sign-in; a refusal the box must act on carries a code of ClipUploadRefusal.
 */
export async function edgeClipRoutes(app: FastifyInstance) {
  const { ctx } = app;
  // Bodies other than JSON are handed over unread: a part is streamed to disk, a probe discarded.
  app.addContentTypeParser([OFFSET_OCTET_STREAM, 'application/octet-stream'], (_request, payload, done) => done(null, payload));
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof ClipRefusal && error.state) {
      return reply.status(error.statusCode).send({ statusCode: error.statusCode, code: error.code, message: error.message, state: error.state });
    }
    // A body the box made wrong is final for that clip: it must not try it again and again.
    if ((error as { validation?: unknown }).validation) {
      throw new ClipRefusal(422, ClipUploadRefusal.invalid, (error as Error).message);
    }
    throw error;
  });

  /** The box of the request, from its HTTP Basic credentials, checked as its MQTT login is. */
  async function boxOf(request: FastifyRequest): Promise<string> {
    const m = BASIC.exec(request.headers.authorization ?? '');
    const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const serial = colon > 0 ? decoded.slice(0, colon) : '';
    const secret = colon > 0 ? decoded.slice(colon + 1) : '';
    const [edge] = serial && secret ? await ctx.db.select({ secretHash: edges.secretHash }).from(edges).where(eq(edges.serial, serial)) : [];
    if (!edge?.secretHash || !tokenMatches(secret, edge.secretHash)) {
      throw new AppError(401, ErrorCode.unauthenticated, 'Sign in with the box’s serial and secret (HTTP Basic).', { 'www-authenticate': 'Basic realm="vigil-edge"' });
    }
    return serial;
  }

  const edgeOnly = { public: true, oplog: false } as const;

  app.post(
    '/edge/clips',
    { schema: { body: ClipUploadCreateSchema, response: { 200: ClipUploadStateSchema, 201: ClipUploadStateSchema } }, config: edgeOnly },
    async (request, reply) => {
      const serial = await boxOf(request);
      const { created, state } = await ctx.clips.create(serial, request.body as ClipUploadCreate);
      return reply.status(created ? 201 : 200).send(state);
    },
  );

  app.post('/edge/clips/bandwidth-test', { schema: { response: { 200: BandwidthProbeReplySchema } }, config: edgeOnly }, async (request) => {
    await boxOf(request);
    const started = Date.now();
    let bytes = 0;
    for await (const chunk of request.raw) bytes += (chunk as Buffer).length;
    return { bytes, ms: Date.now() - started };
  });

  app.get('/edge/clips/:clipId', { schema: { params: ClipParams, response: { 200: ClipUploadStateSchema } }, config: edgeOnly }, async (request) => {
    const serial = await boxOf(request);
    return ctx.clips.state(serial, (request.params as { clipId: string }).clipId);
  });

  app.patch(
    '/edge/clips/:clipId/:part',
    { schema: { params: PartParams, headers: OffsetHeaders, response: { 200: ClipUploadStateSchema } }, config: edgeOnly },
    async (request) => {
      const serial = await boxOf(request);
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== OFFSET_OCTET_STREAM) throw new AppError(415, ErrorCode.unsupportedMediaType, `Send the part's bytes as ${OFFSET_OCTET_STREAM}.`);
      const { clipId, part } = request.params as { clipId: string; part: ClipPart };
      const offset = Number(request.headers['upload-offset']);
      const length = request.headers['content-length'] === undefined ? null : Number(request.headers['content-length']);
      return ctx.clips.append(serial, clipId, part, offset, request.raw, length);
    },
  );
}
