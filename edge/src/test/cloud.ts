import type { AuthenticateError } from 'aedes';
import { encodeEnvelope, envelope, parseMqttIdentity, topics } from '@vigil/protocol';
import { startBroker, type TestBroker } from './broker.js';

export interface FakeCloud extends TestBroker {
  /** The secret handed to the edge when it is claimed. */
  readonly secret: string;
  /** Lets the waiting box be claimed (now, or as soon as it subscribes). */
  claim(): void;
  /** Removes the box from its site: its secret stops working and its session is closed. */
  remove(): void;
  /** Every CONNECT the broker answered: identity and whether it was accepted. */
  logins: { username: string; clientId: string; accepted: boolean }[];
}

function refuse(code: 4 | 5): AuthenticateError {
  return Object.assign(new Error('refused'), { returnCode: code }) as AuthenticateError;
}

/**
 * A broker whose access hooks behave like the cloud's: an unclaimed box logs in with its verification
 * code and may only subscribe to its credentials topic; once claimed it gets a secret there, and from
 * then on only `edge:{serial}` with that secret logs in.
 */
export async function startFakeCloud(serial: string, code: string): Promise<FakeCloud> {
  const secret = 'S3cret-'.padEnd(32, 'x');
  let claimable = false;
  let claimed = false;
  let removed = false;
  let waiting: { nonce: string } | null = null;
  const logins: FakeCloud['logins'] = [];
  // Assigned right below; the hooks only run once clients connect.
  let tb: TestBroker | null = null;

  const sendCredentials = (nonce: string): void => {
    claimed = true;
    const payload = encodeEnvelope(
      envelope('claimCredentials', { edgeId: serial, username: `edge:${serial}`, password: secret }),
    );
    tb?.publish(topics.claimCredentials(serial, nonce), payload).catch((err: unknown) => {
      process.stderr.write(`fake cloud: publishing credentials failed: ${String(err)}\n`);
    });
  };

  tb = await startBroker({
    authenticate: (client, username, password, done) => {
      const id = parseMqttIdentity(username, client.id);
      const pw = password?.toString() ?? '';
      let ok = false;
      if (id?.serial === serial && id.role === 'claim') ok = !claimed && pw === code;
      if (id?.serial === serial && id.role === 'edge') ok = claimed && !removed && pw === secret;
      logins.push({ username: username ?? '', clientId: client.id, accepted: ok });
      if (ok) done(null, true);
      else done(refuse(id?.role === 'edge' ? 4 : 5), false);
    },
    authorizeSubscribe: (client, sub, done) => {
      const id = parseMqttIdentity(client.id.startsWith('claim:') ? `claim:${serial}` : `edge:${serial}`, client.id);
      if (id?.role === 'claim') {
        done(sub.topic === topics.claimCredentials(serial, id.nonce) ? null : new Error('forbidden'), sub);
      } else {
        done(sub.topic.startsWith(topics.edgePrefix(serial)) ? null : new Error('forbidden'), sub);
      }
    },
  });
  tb.broker.on('subscribe', (subs, client) => {
    const id = parseMqttIdentity(`claim:${serial}`, client.id);
    if (id?.role !== 'claim' || !subs.some((s) => s.topic === topics.claimCredentials(serial, id.nonce))) return;
    waiting = { nonce: id.nonce };
    if (claimable) sendCredentials(id.nonce);
  });

  const cloud = tb as FakeCloud;
  return Object.assign(cloud, {
    secret,
    logins,
    claim: () => {
      claimable = true;
      if (waiting) sendCredentials(waiting.nonce);
    },
    remove: () => {
      removed = true;
      claimed = false;
      claimable = false;
      waiting = null;
      // A removed box is cut off at once; its reconnect is refused.
      for (const ws of Object.values((cloud.broker as unknown as { clients: Record<string, { close(): void }> }).clients)) ws.close();
    },
  });
}
