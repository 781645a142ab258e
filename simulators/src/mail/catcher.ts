import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** One mail the catcher took, as a reader sees it. */
export interface CaughtMail {
  /** The envelope's recipient (RCPT TO), lower-cased; several are joined with ", ". */
  to: string;
  /** The sender's address from the From header. */
  from: string;
  subject: string;
  text: string;
  /** Null when the mail had no HTML part. */
  html: string | null;
  receivedAt: Date;
}

export interface MailCatcherOptions {
  host?: string;
  port?: number;
}

const addressesOf = (header: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(header) ? header : header ? [header] : []).flatMap((h) => h.value.map((v) => v.address ?? '')).filter((a) => a !== '');

/**
 * A real SMTP server that keeps every mail it is sent, for tests and demos: no authentication, no TLS, any sender
 * and recipient. `refuse` makes it answer each mail with a temporary (4xx) failure, as a busy server does, so a
 * sender's retries can be tested.
 */
export class MailCatcher {
  readonly messages: CaughtMail[] = [];
  /** While set, each message is refused with this temporary failure; clear it to take mail again. */
  refusal: { code: number; message: string } | null = null;
  /** Mails refused so far. */
  refused = 0;
  private readonly server: SMTPServer;
  private readonly waiters = new Set<() => void>();
  private port: number | null = null;

  constructor(private readonly options: MailCatcherOptions = {}) {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        if (this.refusal) {
          this.refused++;
          const err = Object.assign(new Error(this.refusal.message), { responseCode: this.refusal.code });
          stream.resume();
          stream.on('end', () => callback(err));
          return;
        }
        simpleParser(stream)
          .then((parsed) => {
            this.messages.push({
              to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()).join(', '),
              from: addressesOf(parsed.from)[0] ?? '',
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : null,
              receivedAt: new Date(),
            });
            for (const wake of this.waiters) wake();
            callback();
          })
          .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
      },
    });
  }

  /** Refuses mail with a 4xx reply (451 by default) until `accept()`. */
  refuse(code = 451, message = 'Try again later'): void {
    if (code < 400 || code > 499) throw new Error(`a temporary refusal is a 4xx code, not ${code}`);
    this.refusal = { code, message };
  }

  accept(): void {
    this.refusal = null;
  }

  async start(): Promise<{ port: number; url: string }> {
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.server.address() as AddressInfo).port;
    return { port: this.port, url: `smtp://${host}:${this.port}` };
  }

  async stop(): Promise<void> {
    if (this.port === null) return;
    this.port = null;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The first mail (already here or still to come) that matches; rejects after `timeoutMs`. */
  waitFor(predicate: (mail: CaughtMail) => boolean, timeoutMs = 10_000): Promise<CaughtMail> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.messages.find(predicate);
        if (!found) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no matching mail within ${timeoutMs} ms (${this.messages.length} received)`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** The mails sent to one address. */
  to(address: string): CaughtMail[] {
    return this.messages.filter((m) => m.to.split(', ').includes(address.toLowerCase()));
  }
}
