import { EventEmitter } from 'node:events';
import * as zmq from 'zeromq';
import { BUS_ENV, BusTopic, SendQueue } from './bus.js';

export interface BusClientOptions {
  inUrl: string;
  outUrl: string;
  name: string;
  token: string;
  /** Topic prefixes to receive besides the handshake. */
  subscriptions?: string[];
}

/**
 * Lets a worker exit once its bus is closed: a 'disconnect' listener holds the IPC channel (and so the
 * process) open, and a discovery round still in flight is cut short after a grace period.
 */
export function releaseProcess(listener: () => void): void {
  process.off('disconnect', listener);
  setTimeout(() => process.exit(0), 2_000).unref();
}

/** Reads the bus coordinates the agent hands a forked worker. */
export function busOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): BusClientOptions {
  const inUrl = env[BUS_ENV.in];
  const outUrl = env[BUS_ENV.out];
  const name = env[BUS_ENV.name];
  const token = env[BUS_ENV.token];
  if (!inUrl || !outUrl || !name || !token) throw new Error('not started by the edge agent: bus settings missing');
  return { inUrl, outUrl, name, token };
}

/**
 * A worker's end of the bus. `connect` resolves once the handshake is done, so the first `publish`
 * after it is delivered (no slow-joiner loss):
 *  1. connect an XPUB to the agent's XSUB and wait for the agent's subscription to arrive on it;
 *  2. subscribe to ctl/welcome/{token} on the agent's XPUB and wait for the welcome;
 *  3. publish ctl/ready.
 */
export class BusClient extends EventEmitter<{ message: [topic: string, payload: unknown] }> {
  private readonly queue: SendQueue;
  private closed = false;

  private constructor(
    private readonly pub: zmq.XPublisher,
    private readonly sub: zmq.Subscriber,
  ) {
    super();
    this.queue = new SendQueue(pub);
  }

  static async connect(opts: BusClientOptions): Promise<BusClient> {
    const pub = new zmq.XPublisher();
    pub.connect(opts.inUrl);
    await pub.receive();
    const sub = new zmq.Subscriber();
    const welcome = `${BusTopic.welcomePrefix}${opts.token}`;
    sub.subscribe(welcome, ...(opts.subscriptions ?? []));
    sub.connect(opts.outUrl);
    const client = new BusClient(pub, sub);
    for (;;) {
      const [topic] = await sub.receive();
      if (topic?.toString('utf8') === welcome) break;
    }
    await client.publish(BusTopic.ready, { name: opts.name, token: opts.token, pid: process.pid });
    client.run();
    return client;
  }

  publish(topic: string, payload: unknown): Promise<void> {
    return this.queue.send([topic, JSON.stringify(payload)]);
  }

  private run(): void {
    const drainSubscriptions = async (): Promise<void> => {
      for await (const _ of this.pub) {
        // Subscription changes need no action: the agent subscribes to everything.
      }
    };
    const receive = async (): Promise<void> => {
      for await (const [topic, body] of this.sub) {
        if (!topic || !body) continue;
        try {
          this.emit('message', topic.toString('utf8'), JSON.parse(body.toString('utf8')) as unknown);
        } catch {
          process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'bus: dropped non-JSON payload' })}\n`);
        }
      }
    };
    const onEnd = (err: unknown): void => {
      if (!this.closed) process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'bus loop stopped', err: String(err) })}\n`);
    };
    drainSubscriptions().catch(onEnd);
    receive().catch(onEnd);
  }

  close(): void {
    this.closed = true;
    this.pub.close();
    this.sub.close();
  }
}
