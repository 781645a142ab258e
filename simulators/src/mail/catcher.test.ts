import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MailCatcher } from './catcher.js';

/** A minimal SMTP client: sends each command and collects the server's reply codes. */
async function smtpSession(port: number, commands: string[]): Promise<number[]> {
  const socket: Socket = connect(port, '127.0.0.1');
  const codes: number[] = [];
  let buffer = '';
  const nextReply = () =>
    new Promise<number>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        buffer += chunk.toString();
        // A reply ends with a line "NNN text" (a space after the code, not a dash).
        const m = /^(\d{3}) [^\r\n]*\r\n/m.exec(buffer);
        if (!m) return;
        buffer = buffer.slice(m.index + m[0].length);
        socket.off('data', onData);
        resolve(Number(m[1]));
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
  codes.push(await nextReply());
  for (const command of commands) {
    socket.write(`${command}\r\n`);
    codes.push(await nextReply());
  }
  socket.end();
  return codes;
}

const message = (subject: string) =>
  ['From: Vigil <no-reply@vigil.test>', 'To: someone@example.test', `Subject: ${subject}`, 'Content-Type: text/plain; charset=utf-8', '', 'Hello there.', '.'].join('\r\n');

describe('MailCatcher', () => {
  let catcher: MailCatcher | null = null;
  afterEach(async () => {
    await catcher?.stop();
    catcher = null;
  });

  it('keeps a mail it was sent, and refuses with a 4xx while told to', async () => {
    catcher = new MailCatcher();
    const { port, url } = await catcher.start();
    expect(url).toBe(`smtp://127.0.0.1:${port}`);
    const send = (subject: string) => smtpSession(port, ['EHLO test', 'MAIL FROM:<no-reply@vigil.test>', 'RCPT TO:<Someone@Example.test>', 'DATA', message(subject), 'QUIT']);

    catcher.refuse();
    const refused = await send('First');
    expect(refused[5]).toBe(451);
    expect(catcher.refused).toBe(1);
    expect(catcher.messages).toHaveLength(0);

    catcher.accept();
    const waiting = catcher.waitFor((m) => m.subject === 'Second', 5_000);
    const accepted = await send('Second');
    expect(accepted[5]).toBe(250);
    const mail = await waiting;
    expect(mail).toMatchObject({ to: 'someone@example.test', from: 'no-reply@vigil.test', subject: 'Second', html: null });
    expect(mail.text.trim()).toBe('Hello there.');
    expect(catcher.to('someone@example.test')).toHaveLength(1);
    await expect(catcher.waitFor((m) => m.subject === 'Never', 50)).rejects.toThrow(/no matching mail/);
  });

  it('accepts only 4xx codes as a refusal', () => {
    catcher = new MailCatcher();
    expect(() => catcher!.refuse(550)).toThrow(/4xx/);
  });
});
