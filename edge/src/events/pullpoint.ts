import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClipEventType } from '@vigil/protocol';
import {
  Ns,
  buildCreatePullPointSubscription,
  buildGetCapabilities,
  buildGetServices,
  buildPullMessages,
  buildRenew,
  buildUnsubscribe,
  parseCreatePullPointSubscriptionResponse,
  parseGetCapabilitiesResponse,
  parseGetServicesResponse,
  parsePullMessagesResponse,
  parseRenewResponse,
  topicMatches,
  type SubscriptionTimes,
} from '@vigil/protocol/onvif';
import type { DeviceAccount } from '../media/devices.js';
import { DETECTION_TOPICS, DetectionState, type DetectionEvent } from './detections.js';
import { OnvifCallError, OnvifSession } from './onvif-session.js';

export interface CameraEventSubscriberOptions {
  /** The camera's ONVIF device service, e.g. `http://192.168.1.64/onvif/device_service`. */
  deviceServiceUrl: string;
  account: DeviceAccount;
  /** The life asked for a subscription, renewed halfway (default 60 s; cameras grant at least 1 s). */
  subscriptionMs?: number;
  /** How long one PullMessages waits for messages (default 10 s). */
  pullTimeoutMs?: number;
  /** The most messages one PullMessages takes (default 32). */
  messageLimit?: number;
  /** How long other calls may take (default 5 s). */
  requestTimeoutMs?: number;
  /** The wait after a failure, doubling up to `retryMaxMs` (defaults 0.5 s and 30 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

export interface CameraEventSubscriberEvents {
  /** Motion or intrusion starting or ending, or a line crossed. */
  detection: [event: DetectionEvent];
  /** A subscription was made; `filtered` is false when the camera refused the detection topic filter. */
  subscribed: [info: { address: string; terminationTime: Date; filtered: boolean }];
  /** Something failed; the subscriber tries again after `retryInMs`. */
  failure: [error: Error, retryInMs: number];
}

export interface CameraEventSubscriberStatus {
  running: boolean;
  /** The pull point in use, if subscribed. */
  subscription: string | undefined;
  /** The camera's clock minus the box's, in ms, as last measured. */
  clockOffsetMs: number;
  /** Motion going on, and an object inside an intrusion field, as last reported. */
  motion: boolean;
  intrusion: boolean;
  /** Failures since the last subscription was made. */
  failures: number;
}

const UNSUBSCRIBE_TIMEOUT_MS = 2_000;
const MIN_RENEW_DELAY_MS = 250;

function positive(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0 || value > max) throw new RangeError(`${name} must be a number of ms above 0 and at most ${max}`);
  return value;
}

/**
 * Detections of one ONVIF camera (motion, intrusion, line crossing) through a PullPoint subscription: finds the
 * event service, subscribes (to the detection topics when the camera takes a filter), long-polls PullMessages, renews halfway through the
 * subscription's life, and after any failure (camera restarted, unreachable, clock moved) measures the clock
 * again and subscribes anew with a doubling wait. `stop()` unsubscribes.
 */
export class CameraEventSubscriber extends EventEmitter<CameraEventSubscriberEvents> {
  private readonly session: OnvifSession;
  private readonly subscriptionMs: number;
  private readonly pullTimeoutMs: number;
  private readonly messageLimit: number;
  private readonly requestTimeoutMs: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly detections = new DetectionState();
  private running: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private subscription: string | undefined;
  /** Set once the camera refused the topic filter: later subscriptions go unfiltered straight away. */
  private filterRefused = false;
  private failures = 0;

  constructor(opts: CameraEventSubscriberOptions) {
    super();
    let url: URL;
    try {
      url = new URL(opts.deviceServiceUrl);
    } catch {
      throw new RangeError(`not a URL: ${opts.deviceServiceUrl}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError('the device service must be an http(s) URL');
    if (!opts.account.username) throw new RangeError('the account needs a username');
    this.subscriptionMs = positive('subscriptionMs', opts.subscriptionMs, 60_000, 3_600_000);
    this.pullTimeoutMs = positive('pullTimeoutMs', opts.pullTimeoutMs, 10_000, 60_000);
    this.requestTimeoutMs = positive('requestTimeoutMs', opts.requestTimeoutMs, 5_000, 60_000);
    this.retryInitialMs = positive('retryInitialMs', opts.retryInitialMs, 500, 3_600_000);
    this.retryMaxMs = positive('retryMaxMs', opts.retryMaxMs, 30_000, 3_600_000);
    const limit = opts.messageLimit ?? 32;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new RangeError('messageLimit must be an integer from 1 to 100');
    this.messageLimit = limit;
    this.session = new OnvifSession(url.toString(), opts.account, this.requestTimeoutMs);
  }

  get status(): CameraEventSubscriberStatus {
    return {
      running: this.running !== undefined,
      subscription: this.subscription,
      clockOffsetMs: Math.round(this.session.clockOffsetMs),
      motion: this.detections.isActive(ClipEventType.motion),
      intrusion: this.detections.isActive(ClipEventType.intrusion),
      failures: this.failures,
    };
  }

  start(): void {
    if (this.running) return;
    const running = new AbortController();
    this.running = running;
    this.loop = this.run(running.signal);
  }

  /** Stops pulling and unsubscribes (best effort, bounded in time). */
  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    running.abort();
    await this.loop;
    this.running = undefined;
    this.loop = undefined;
    await this.unsubscribe();
  }

  private async run(signal: AbortSignal): Promise<void> {
    let retryMs = this.retryInitialMs;
    while (!signal.aborted) {
      try {
        await this.subscribeAndPull(signal, () => {
          retryMs = this.retryInitialMs;
          this.failures = 0;
        });
      } catch (err) {
        if (signal.aborted) return;
        this.failures++;
        this.emit('failure', err instanceof Error ? err : new Error(String(err)), retryMs);
        await sleep(retryMs, undefined, { signal }).catch(() => undefined);
        retryMs = Math.min(retryMs * 2, this.retryMaxMs);
      }
    }
  }

  /** One subscription's life: returns only when stopped, throws on the failure that ended it. */
  private async subscribeAndPull(signal: AbortSignal, subscribed: () => void): Promise<void> {
    await this.unsubscribe();
    await this.session.syncClock(signal);
    const eventsUrl = await this.eventsService(signal);
    const { address, times, filtered } = await this.createSubscription(eventsUrl, signal);
    this.subscription = address;
    subscribed();
    this.emit('subscribed', { address, terminationTime: times.terminationTime, filtered });

    // Renewal runs beside the pulls (a pull may wait longer than the subscription has left); its failure ends both.
    const ended = new AbortController();
    const both = AbortSignal.any([signal, ended.signal]);
    let renewFailure: unknown;
    let renewTimer: NodeJS.Timeout | undefined;
    const scheduleRenew = (t: SubscriptionTimes): void => {
      const left = t.terminationTime.getTime() - t.currentTime.getTime();
      renewTimer = setTimeout(() => void renew(), Math.max(MIN_RENEW_DELAY_MS, left / 2));
    };
    const renew = async (): Promise<void> => {
      try {
        const sentAt = Date.now();
        const answer = await this.session.call(address, 'Renew', (h) => buildRenew({ to: address, terminationTime: { inMs: this.subscriptionMs } }, h), both);
        const r = parseRenewResponse(answer);
        if (!r.ok) throw new OnvifCallError('badAnswer', `Renew: ${r.error}`);
        this.session.observeDeviceTime(r.value.currentTime.getTime(), sentAt, Date.now());
        if (!both.aborted) scheduleRenew(r.value);
      } catch (err) {
        if (both.aborted) return;
        renewFailure = err;
        ended.abort();
      }
    };
    scheduleRenew(times);
    try {
      while (!both.aborted) {
        const answer = await this.session.call(
          address,
          'PullMessages',
          (h) => buildPullMessages({ to: address, timeoutMs: this.pullTimeoutMs, messageLimit: this.messageLimit }, h),
          both,
          this.pullTimeoutMs + this.requestTimeoutMs,
        );
        const pulled = parsePullMessagesResponse(answer);
        if (!pulled.ok) throw new OnvifCallError('badAnswer', `PullMessages: ${pulled.error}`);
        for (const message of pulled.value.messages) {
          if (!topicMatches(DETECTION_TOPICS, message.topic)) continue;
          const event = this.detections.take(message, this.session.clockOffsetMs);
          if (event) this.emit('detection', event);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw renewFailure ?? err;
    } finally {
      clearTimeout(renewTimer);
    }
    if (renewFailure !== undefined && !signal.aborted) throw renewFailure;
  }

  /** The event service's address: from GetCapabilities, else from GetServices. */
  private async eventsService(signal: AbortSignal): Promise<string> {
    const device = this.session.deviceServiceUrl;
    try {
      const caps = parseGetCapabilitiesResponse(await this.session.call(device, 'GetCapabilities', buildGetCapabilities, signal));
      if (caps.ok && caps.value.events) return caps.value.events;
    } catch (err) {
      if (signal.aborted || (err instanceof OnvifCallError && err.failure === 'unreachable')) throw err;
    }
    const services = parseGetServicesResponse(await this.session.call(device, 'GetServices', (h) => buildGetServices(false, h), signal));
    const events = services.ok ? services.value.find((s) => s.namespace === Ns.tev) : undefined;
    if (!events) throw new OnvifCallError('badAnswer', 'the camera announces no event service');
    return events.xaddr;
  }

  private async createSubscription(eventsUrl: string, signal: AbortSignal): Promise<{ address: string; times: SubscriptionTimes; filtered: boolean }> {
    const create = async (topicFilter: string | undefined) => {
      const sentAt = Date.now();
      const answer = await this.session.call(
        eventsUrl,
        'CreatePullPointSubscription',
        (h) => buildCreatePullPointSubscription({ initialTerminationTime: { inMs: this.subscriptionMs }, ...(topicFilter ? { topicFilter } : {}) }, h),
        signal,
      );
      const r = parseCreatePullPointSubscriptionResponse(answer);
      if (!r.ok) throw new OnvifCallError('badAnswer', `CreatePullPointSubscription: ${r.error}`);
      // The camera's CurrentTime is to the millisecond: a finer offset than GetSystemDateAndTime gives.
      this.session.observeDeviceTime(r.value.currentTime.getTime(), sentAt, Date.now());
      return { address: r.value.address, times: r.value };
    };
    if (this.filterRefused) return { ...(await create(undefined)), filtered: false };
    try {
      return { ...(await create(DETECTION_TOPICS)), filtered: true };
    } catch (err) {
      if (!(err instanceof OnvifCallError) || err.failure !== 'fault') throw err;
    }
    // Refused with a fault: if the same request without the filter is taken, the filter was the trouble.
    const unfiltered = await create(undefined);
    this.filterRefused = true;
    return { ...unfiltered, filtered: false };
  }

  /** Ends the current subscription on the camera, if any, without waiting long or failing. */
  private async unsubscribe(): Promise<void> {
    const address = this.subscription;
    if (address === undefined) return;
    this.subscription = undefined;
    await this.session
      .call(address, 'Unsubscribe', (h) => buildUnsubscribe(address, h), AbortSignal.timeout(UNSUBSCRIBE_TIMEOUT_MS), UNSUBSCRIBE_TIMEOUT_MS)
      .catch(() => undefined);
  }
}
