import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import type { Logger } from './log.js';
import type { Store } from './store.js';

/**
 * Publishes the durable outbox in seq order with QoS 1 and at most `window` messages awaiting PUBACK.
 * A row is deleted only on its PUBACK; after a reconnect everything left is sent again from the oldest
 * row (at-least-once, ordered; receivers de-duplicate on the envelope id).
 */
export class OutboxPump extends EventEmitter<{ acked: [seq: number]; drained: [] }> {
  private client: MqttClient | null = null;
  private generation = 0;
  private lastSent = 0;
  private readonly inflight = new Set<number>();
  private running = false;
  private again = false;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly window = 32,
  ) {
    super();
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  attach(client: MqttClient): void {
    this.generation++;
    this.client = client;
    this.inflight.clear();
    this.lastSent = 0;
    this.kick();
  }

  detach(): void {
    this.generation++;
    this.client = null;
    this.inflight.clear();
    this.lastSent = 0;
  }

  /** Call after enqueueing: sends what the window allows. */
  kick(): void {
    if (!this.client) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.fill()
      .catch((err: unknown) => this.log.error('outbox send failed', { err }))
      .finally(() => {
        this.running = false;
      });
  }

  private async fill(): Promise<void> {
    do {
      this.again = false;
      const gen = this.generation;
      while (this.client && gen === this.generation && this.inflight.size < this.window) {
        const rows = await this.store.outboxAfter(this.lastSent, this.window - this.inflight.size);
        const client = this.client;
        if (!client || gen !== this.generation) break;
        if (rows.length === 0) {
          if (this.inflight.size === 0) this.emit('drained');
          break;
        }
        for (const row of rows) {
          this.inflight.add(row.seq);
          this.lastSent = row.seq;
          client.publish(row.topic, row.payload, { qos: 1 }, (err) => this.onAck(gen, row.seq, err));
        }
      }
    } while (this.again);
  }

  private onAck(gen: number, seq: number, err: Error | undefined): void {
    // An error or a stale connection leaves the row in place: it goes out again after the reconnect.
    if (err || gen !== this.generation) return;
    this.store
      .deleteOutbox(seq)
      .then(() => {
        if (gen !== this.generation) return;
        this.inflight.delete(seq);
        this.emit('acked', seq);
        this.kick();
      })
      .catch((e: unknown) => this.log.error('outbox delete failed', { err: e, seq }));
  }
}
