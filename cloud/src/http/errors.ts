import type { FastifyError, FastifyInstance } from 'fastify';
import { ErrorCode, type ErrorReply } from '@vigil/protocol/api';

/** A refusal the API explains: HTTP status, a stable code, and a sentence for people. */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const notFound = (code: string, what: string): AppError => new AppError(404, code, `${what} not found.`);

/** Fastify's own errors, told in the API's words. */
const FASTIFY_CODES: Record<string, { statusCode: number; code: string; message?: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { statusCode: 400, code: ErrorCode.malformedJson, message: 'The request body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { statusCode: 400, code: ErrorCode.malformedJson, message: 'The request body is empty but says it is JSON.' },
  FST_ERR_CTP_BODY_TOO_LARGE: { statusCode: 413, code: ErrorCode.bodyTooLarge, message: 'The request body is too large.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { statusCode: 415, code: ErrorCode.unsupportedMediaType, message: 'Send the request body as application/json.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { statusCode: 400, code: ErrorCode.malformedJson, message: 'The content length does not match the body.' },
};

function toReply(error: FastifyError | AppError | Error): ErrorReply & { headers?: Record<string, string> } {
  if (error instanceof AppError) {
    return { statusCode: error.statusCode, code: error.code, message: error.message, headers: error.headers };
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    return { statusCode: 400, code: ErrorCode.validationFailed, message: fe.message };
  }
  const known = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known) return { statusCode: known.statusCode, code: known.code, message: known.message ?? fe.message };
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { statusCode: fe.statusCode, code: fe.code ?? 'BAD_REQUEST', message: fe.message };
  }
  return { statusCode: 500, code: ErrorCode.internal, message: 'Something went wrong on our side; it has been logged.' };
}

/** The one error handler: every refusal leaves as `{statusCode, code, message}`. */
export function installErrorHandling(app: FastifyInstance, uiDir: string | null): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const body = toReply(error);
    if (body.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    const { headers, ...payload } = body;
    if (headers) void reply.headers(headers);
    return reply.status(payload.statusCode).send(payload);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    // The portal routes in the browser: any other page address gets the portal itself.
    if (uiDir && request.method === 'GET' && !path.startsWith('/api/') && (request.headers.accept ?? '').includes('text/html')) {
      return reply.type('text/html').sendFile('index.html');
    }
    return reply.status(404).send({ statusCode: 404, code: ErrorCode.notFound, message: `No route ${request.method} ${path}.` });
  });
}
