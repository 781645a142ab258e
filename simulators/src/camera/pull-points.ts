import { randomBytes } from 'node:crypto';
import { topicMatches, type NotificationMessage, type TerminationTime } from '@vigil/protocol/onvif';

/** Subscriptions kept at once, messages queued per subscription (the oldest go first), and the longest life granted. */
export const MAX_SUBSCRIPTIONS = 32;
const MAX_QUEUED = 1000;
const MAX_LIFETIME_MS = 3_600_000;
const MIN_LIFETIME_MS = 1000;
export const DEFAULT_LIFETIME_MS = 60_000;

interface Waiter {
  limit: number;
  timer: NodeJS.Timeout;
  deliver: (messages: NotificationMessage[]) => void;
}

export interface Subscription {
  readonly id: string;
  /** When it ends, in camera clock ms. */
  terminationAt: number;
  readonly topicFilter: string | undefined;
  readonly queue: NotificationMessage[];
  waiter: Waiter | undefined;
}

/**
 * The camera's ONVIF pull points: each subscription queues the notifications its filter selects until a
 * PullMessages takes them; a PullMessages finding none waits for one (up to its timeout). Subscriptions end
 * at their termination time on the camera's clock unless renewed.
 */
export class PullPoints {
  private readonly byId = new Map<string, Subscription>();

  /** `current` gives the property messages a new subscription starts with (PropertyOperation Initialized). */
  constructor(
    private readonly clock: () => number,
    private readonly current: () => NotificationMessage[],
  ) {}

  get size(): number {
    this.sweep();
    return this.byId.size;
  }

  /** A new subscription, or undefined when the camera keeps as many as it can. */
  create(initial: TerminationTime | undefined, topicFilter: string | undefined): Subscription | undefined {
    this.sweep();
    if (this.byId.size >= MAX_SUBSCRIPTIONS) return undefined;
    const sub: Subscription = { id: randomBytes(8).toString('hex'), terminationAt: 0, topicFilter, queue: [], waiter: undefined };
    this.setTermination(sub, initial);
    this.byId.set(sub.id, sub);
    for (const m of this.current()) this.enqueue(sub, m);
    return sub;
  }

  /** The live subscription with this id (an expired one is gone). */
  get(id: string): Subscription | undefined {
    this.sweep();
    return this.byId.get(id);
  }

  renew(sub: Subscription, termination: TerminationTime | undefined): void {
    this.setTermination(sub, termination);
  }

  /** Ends a subscription; a PullMessages waiting on it is answered with nothing. */
  remove(sub: Subscription): void {
    this.byId.delete(sub.id);
    this.release(sub, []);
  }

  /** Sends the current property states again (SetSynchronizationPoint). */
  synchronize(sub: Subscription): void {
    for (const m of this.current()) this.enqueue(sub, m);
  }

  /**
   * Hands out up to `limit` queued messages, at once when some are waiting, otherwise at the first that
   * arrives or after `timeoutMs` (with none). A newer pull on the same subscription ends the older one.
   * Returns a cancel function for a pull whose requester went away (its messages stay queued).
   */
  pull(sub: Subscription, limit: number, timeoutMs: number, deliver: (messages: NotificationMessage[]) => void): () => void {
    this.release(sub, []);
    if (sub.queue.length > 0 || timeoutMs === 0) {
      deliver(sub.queue.splice(0, limit));
      return () => undefined;
    }
    const waiter: Waiter = { limit, deliver, timer: setTimeout(() => this.release(sub, []), timeoutMs) };
    sub.waiter = waiter;
    return () => {
      if (sub.waiter !== waiter) return;
      clearTimeout(waiter.timer);
      sub.waiter = undefined;
    };
  }

  /** Queues a notification on every subscription whose filter selects it, waking waiting pulls. */
  publish(message: NotificationMessage): void {
    this.sweep();
    for (const sub of this.byId.values()) this.enqueue(sub, message);
  }

  /** Ends every subscription and answers every waiting pull with nothing. */
  close(): void {
    for (const sub of this.byId.values()) this.release(sub, []);
    this.byId.clear();
  }

  private enqueue(sub: Subscription, message: NotificationMessage): void {
    if (sub.topicFilter !== undefined && !topicMatches(sub.topicFilter, message.topic)) return;
    sub.queue.push(message);
    if (sub.queue.length > MAX_QUEUED) sub.queue.shift();
    const w = sub.waiter;
    if (w) this.release(sub, sub.queue.splice(0, w.limit));
  }

  private release(sub: Subscription, messages: NotificationMessage[]): void {
    const w = sub.waiter;
    if (!w) return;
    sub.waiter = undefined;
    clearTimeout(w.timer);
    w.deliver(messages);
  }

  private setTermination(sub: Subscription, t: TerminationTime | undefined): void {
    const now = this.clock();
    const wanted = t === undefined ? DEFAULT_LIFETIME_MS : 'inMs' in t ? t.inMs : t.at.getTime() - now;
    sub.terminationAt = now + Math.min(MAX_LIFETIME_MS, Math.max(MIN_LIFETIME_MS, wanted));
  }

  private sweep(): void {
    const now = this.clock();
    for (const sub of [...this.byId.values()]) if (sub.terminationAt <= now) this.remove(sub);
  }
}
