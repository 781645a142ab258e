import { MediaRefusal, type MediaRefused } from '@vigil/protocol';

/** A failure the box reports to the cloud with one of the contract's refusal codes. */
export class MediaError extends Error {
  constructor(
    readonly code: MediaRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** The refusal for any error: its own code for a MediaError, MEDIA_FAILED with the message otherwise. */
export function refusal(err: unknown): MediaRefused {
  if (err instanceof MediaError) return { ok: false, code: err.code, message: err.message.slice(0, 512) };
  const message = err instanceof Error ? err.message : String(err);
  return { ok: false, code: MediaRefusal.failed, message: message.slice(0, 512) };
}

/** Network errors that mean nothing answers at the address. */
export function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code ?? (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  const name = (err as { name?: unknown } | null)?.name;
  return (
    name === 'TimeoutError' ||
    (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET'].includes(code))
  );
}
