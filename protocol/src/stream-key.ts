import { createHmac } from 'node:crypto';

/**
 * The key an encrypted device's stream is opened with, derived from its verification code and serial. The
 * simulated cameras and recorders require it as the `key` query parameter of their RTSP URLs, standing in for
 * the stream decryption real devices do with the code.
 */
export function streamKeyFor(serial: string, verificationCode: string): string {
  return createHmac('sha256', verificationCode).update(`vigil-stream:${serial}`).digest('hex').slice(0, 32);
}
