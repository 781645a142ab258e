import { once } from 'node:events';
import onvif from 'onvif';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AnalyticsTopic,
  FaultSubcode,
  MotionTopic,
  buildCreatePullPointSubscription,
  buildGetDeviceInformation,
  buildGetEventProperties,
  buildGetServices,
  buildPullMessages,
  buildRenew,
  buildUnsubscribe,
  faultHas,
  parseCreatePullPointSubscriptionResponse,
  parseEnvelope,
  parseFault,
  parseGetDeviceInformationResponse,
  parseGetEventPropertiesResponse,
  parsePullMessagesResponse,
  parseRenewResponse,
  usernameTokenHeader,
  type NotificationMessage,
} from '@vigil/protocol/onvif';
import { CameraFeatureError, IpCameraSimulator, SOLAR_CAMERA_MODEL } from './ip-camera.js';

const started: IpCameraSimulator[] = [];
const clients: { removeAllListeners(name: string): void }[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.removeAllListeners('event');
  await Promise.all(started.splice(0).map((c) => c.stop()));
});

async function camera(opts: Partial<ConstructorParameters<typeof IpCameraSimulator>[0]> = {}) {
  const cam = new IpCameraSimulator({ serial: 'EVT0001', password: 'Secret-1', ...opts });
  started.push(cam);
  await cam.start();
  return cam;
}

type CamCallback<T> = (err: Error | null, data?: T) => void;
const call = <T>(fn: (cb: CamCallback<T>) => void) =>
  new Promise<T>((resolve, reject) => fn((err, data) => (err ? reject(err) : resolve(data as T))));

const soap = (url: string, body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/soap+xml; charset=utf-8' }, body });
const auth = (now: number) => usernameTokenHeader({ username: 'admin', password: 'Secret-1', now: new Date(now) });

async function faultOf(res: Response) {
  const env = parseEnvelope(await res.text());
  return env.ok ? parseFault(env.value) : undefined;
}

/** How the onvif client hands a notification to `on('event')`, after its own parsing. */
interface ClientEvent {
  topic: { _: string };
  message: {
    message: {
      $: { UtcTime: Date; PropertyOperation: string };
      source: { simpleItem: { $: { Name: string; Value: string } } | { $: { Name: string; Value: string } }[] };
      data: { simpleItem: { $: { Name: string; Value: string | boolean } } };
    };
  };
}

/** Collects the client's events and lets a test wait for one that matches. */
function eventLog(client: { on(name: 'event', fn: (e: ClientEvent) => void): void }) {
  const seen: ClientEvent[] = [];
  const waiting: { match: (e: ClientEvent) => boolean; resolve: (e: ClientEvent) => void }[] = [];
  client.on('event', (e) => {
    seen.push(e);
    for (const w of [...waiting]) {
      if (w.match(e)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  const next = (match: (e: ClientEvent) => boolean, ms = 20_000) =>
    new Promise<ClientEvent>((resolve, reject) => {
      const found = seen.find(match);
      if (found) return resolve(found);
      const t = setTimeout(() => reject(new Error(`no matching event in ${ms} ms; saw ${JSON.stringify(seen.map((e) => e.topic._))}`)), ms);
      waiting.push({ match, resolve: (e) => (clearTimeout(t), resolve(e)) });
    });
  return { seen, next };
}

const isMotion = (value: boolean, operation: string) => (e: ClientEvent) =>
  e.topic._ === MotionTopic.cellMotion && e.message.message.$.PropertyOperation === operation && e.message.message.data.simpleItem.$.Value === value;

describe('IpCameraSimulator events with the onvif npm client', () => {
  it('delivers the motion state, then motion as it starts and ends, through its pull loop', async () => {
    const cam = await camera();
    const client = new onvif.Cam({ hostname: '127.0.0.1', port: cam.state.http, username: 'admin', password: 'Secret-1', autoconnect: false });
    clients.push(client);
    await call((cb) => client.connect(cb));
    expect(client.uri?.events?.path).toBe('/onvif/events_service');
    const properties = await call<{ topicSet: Record<string, unknown> }>((cb) => client.getEventProperties(cb));
    expect(Object.keys(properties.topicSet)).toEqual(['ruleEngine', 'videoSource']);

    const log = eventLog(client);
    // A new subscription starts with the current state of each property.
    const initial = await log.next(isMotion(false, 'Initialized'));
    expect(initial.message.message.source.simpleItem).toEqual([
      { $: { Name: 'VideoSourceConfigurationToken', Value: 'VideoSourceConfig_1' } },
      { $: { Name: 'Rule', Value: 'MyMotionDetectorRule' } },
    ]);
    await log.next((e) => e.topic._ === MotionTopic.motionAlarm);
    expect(cam.state.subscriptions).toBe(1);

    const before = Date.now();
    cam.setMotion(true);
    const raised = await log.next(isMotion(true, 'Changed'));
    expect(raised.message.message.$.UtcTime.getTime()).toBeGreaterThanOrEqual(before - 1);
    const alarm = await log.next((e) => e.topic._ === MotionTopic.motionAlarm && e.message.message.$.PropertyOperation === 'Changed');
    expect(alarm.message.message.data.simpleItem.$).toEqual({ Name: 'State', Value: true });

    // The control API's pulse: motion, then none after pulseMs.
    cam.setMotion(false);
    await log.next(isMotion(false, 'Changed'));
    const control = await fetch(`http://127.0.0.1:${cam.state.http}/__sim/control`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ motion: { pulseMs: 300 } }),
    });
    expect(control.status).toBe(200);
    expect(((await control.json()) as { motion: boolean }).motion).toBe(true);
    await once(cam, 'motion');
    expect(cam.state.motion).toBe(false);
    await expect.poll(() => log.seen.filter(isMotion(true, 'Changed')).length, { timeout: 20_000 }).toBe(2);
    await expect.poll(() => log.seen.filter(isMotion(false, 'Changed')).length, { timeout: 20_000 }).toBe(2);
  });
});

describe('IpCameraSimulator events over raw SOAP', () => {
  it('advertises the event service and describes its motion and analytics topics', async () => {
    const cam = await camera();
    const services = await (await soap(cam.deviceServiceUrl, buildGetServices(false))).text();
    expect(services).toContain('<tds:XAddr>http://127.0.0.1:' + cam.state.http + '/onvif/events_service</tds:XAddr>');
    const props = parseGetEventPropertiesResponse(await (await soap(cam.eventsServiceUrl, buildGetEventProperties(auth(Date.now())))).text());
    expect(props.ok && props.value).toEqual([MotionTopic.cellMotion, AnalyticsTopic.fieldDetector, AnalyticsTopic.lineDetector, MotionTopic.motionAlarm]);
    const anon = await soap(cam.eventsServiceUrl, buildCreatePullPointSubscription());
    const fault = await faultOf(anon);
    expect(fault && faultHas(fault, FaultSubcode.notAuthorized)).toBe(true);
  });

  it('long-polls, filters by topic, stamps the camera clock, renews, unsubscribes and expires', async () => {
    const clock = { now: Date.UTC(2026, 11, 2, 8, 30, 0) };
    const cam = await camera({ clock: () => clock.now });
    const created = parseCreatePullPointSubscriptionResponse(
      await (
        await soap(cam.eventsServiceUrl, buildCreatePullPointSubscription({ topicFilter: 'tns1:RuleEngine//.', initialTerminationTime: { inMs: 10_000 } }, auth(clock.now)))
      ).text(),
    );
    if (!created.ok) throw new Error(created.error);
    const address = created.value.address;
    expect(address).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${cam.state.http}/onvif/pullpoint/[0-9a-f]{16}$`));
    expect(created.value.currentTime.getTime()).toBe(clock.now);
    expect(created.value.terminationTime.getTime()).toBe(clock.now + 10_000);

    const pull = async (timeoutMs: number, messageLimit = 10) => {
      const res = await soap(address, buildPullMessages({ to: address, timeoutMs, messageLimit }, auth(clock.now)));
      const parsed = parsePullMessagesResponse(await res.text());
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.value;
    };
    // Only the rule engine's topics pass the filter.
    const initial = await pull(0);
    expect(initial.messages.map((m) => [m.topic, m.propertyOperation, m.data])).toEqual([
      [MotionTopic.cellMotion, 'Initialized', [{ name: 'IsMotion', value: 'false' }]],
      [AnalyticsTopic.fieldDetector, 'Initialized', [{ name: 'IsInside', value: 'false' }]],
    ]);

    // A pull with nothing to hand out waits for the next message and answers at once with it.
    const waiting = pull(20_000);
    await expect.poll(() => cam.state.counters.soapRequests, { timeout: 20_000 }).toBe(3);
    clock.now += 1_500;
    cam.setMotion(true);
    const got = await waiting;
    expect(got.messages).toHaveLength(1);
    const motion = got.messages[0] as NotificationMessage;
    expect(motion).toMatchObject({ topic: MotionTopic.cellMotion, propertyOperation: 'Changed', data: [{ name: 'IsMotion', value: 'true' }] });
    expect(motion.utcTime.getTime()).toBe(clock.now);
    expect(motion.source).toEqual([
      { name: 'VideoSourceConfigurationToken', value: 'VideoSourceConfig_1' },
      { name: 'Rule', value: 'MyMotionDetectorRule' },
    ]);

    // Nothing waiting: an empty answer once the timeout has passed.
    const empty = await pull(200);
    expect(empty.messages).toEqual([]);
    expect(empty.terminationTime.getTime()).toBe(created.value.terminationTime.getTime());

    // Messages wait for a pull, at most MessageLimit at a time.
    cam.setMotion(false);
    cam.setMotion(true);
    expect((await pull(0, 1)).messages.map((m) => m.data[0]?.value)).toEqual(['false']);
    expect((await pull(0, 5)).messages.map((m) => m.data[0]?.value)).toEqual(['true']);

    const renewed = parseRenewResponse(await (await soap(address, buildRenew({ to: address, terminationTime: { inMs: 30_000 } }, auth(clock.now)))).text());
    expect(renewed.ok && renewed.value.terminationTime.getTime()).toBe(clock.now + 30_000);
    clock.now += 29_000;
    expect((await pull(0)).messages).toEqual([]);
    clock.now += 2_000;
    const expired = await soap(address, buildPullMessages({ to: address, timeoutMs: 0, messageLimit: 1 }, auth(clock.now)));
    expect(expired.status).toBe(400);
    expect((await faultOf(expired))?.reason).toMatch(/unknown, ended or expired/);
    expect(cam.state.subscriptions).toBe(0);

    const second = parseCreatePullPointSubscriptionResponse(await (await soap(cam.eventsServiceUrl, buildCreatePullPointSubscription({}, auth(clock.now)))).text());
    if (!second.ok) throw new Error(second.error);
    expect(second.value.terminationTime.getTime()).toBe(clock.now + 60_000);
    expect((await soap(second.value.address, buildUnsubscribe(second.value.address, auth(clock.now)))).status).toBe(200);
    expect(cam.state.subscriptions).toBe(0);
    // A pull point operation belongs at a pull point, not at the service address.
    const misplaced = await soap(cam.eventsServiceUrl, buildPullMessages({ to: cam.eventsServiceUrl, timeoutMs: 0, messageLimit: 1 }, auth(clock.now)));
    const misplacedFault = await faultOf(misplaced);
    expect(misplacedFault && faultHas(misplacedFault, FaultSubcode.actionNotSupported)).toBe(true);
  });

  it('refuses filters it cannot honour and bad control input', async () => {
    const cam = await camera();
    const body = buildCreatePullPointSubscription({}, auth(Date.now())).replace(
      '<tev:CreatePullPointSubscription/>',
      '<tev:CreatePullPointSubscription><tev:Filter><wsnt:TopicExpression xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" Dialect="http://www.w3.org/TR/1999/REC-xpath-19991116">//tns1:RuleEngine</wsnt:TopicExpression></tev:Filter></tev:CreatePullPointSubscription>',
    );
    const res = await soap(cam.eventsServiceUrl, body);
    expect(res.status).toBe(400);
    expect((await faultOf(res))?.reason).toMatch(/unsupported topic expression dialect/);
    expect(cam.state.subscriptions).toBe(0);

    const control = (input: unknown) =>
      fetch(`http://127.0.0.1:${cam.state.http}/__sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
    for (const bad of [{ motion: 'yes' }, { motion: { pulseMs: 0 } }, { motion: { pulseMs: 10, extra: 1 } }, { encryption: 1 }]) {
      expect((await control(bad)).status).toBe(400);
    }
    expect(cam.state.motion).toBe(false);
    expect((await control({ motion: true })).status).toBe(200);
    expect(cam.state.motion).toBe(true);
  });
});

describe('IpCameraSimulator intrusion and line crossing', () => {
  /** A subscription to every topic, and a way to take what it queued. */
  async function subscription(cam: IpCameraSimulator) {
    const created = parseCreatePullPointSubscriptionResponse(await (await soap(cam.eventsServiceUrl, buildCreatePullPointSubscription({}, auth(Date.now())))).text());
    if (!created.ok) throw new Error(created.error);
    const address = created.value.address;
    return async (timeoutMs = 0): Promise<NotificationMessage[]> => {
      const res = await soap(address, buildPullMessages({ to: address, timeoutMs, messageLimit: 100 }, auth(Date.now())));
      const parsed = parsePullMessagesResponse(await res.text());
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.value.messages;
    };
  }
  const control = (cam: IpCameraSimulator, input: unknown) =>
    fetch(`http://127.0.0.1:${cam.state.http}/__sim/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
  const brief = (messages: NotificationMessage[]) => messages.map((m) => [m.topic, m.propertyOperation, m.data[0]?.name, m.data[0]?.value]);

  it('raises and clears intrusion and pulses line crossings through the control API', async () => {
    const cam = await camera();
    const pull = await subscription(cam);
    expect(brief(await pull())).toEqual([
      [MotionTopic.cellMotion, 'Initialized', 'IsMotion', 'false'],
      [MotionTopic.motionAlarm, 'Initialized', 'State', 'false'],
      [AnalyticsTopic.fieldDetector, 'Initialized', 'IsInside', 'false'],
    ]);

    const on = await control(cam, { intrusion: true });
    expect(on.status).toBe(200);
    expect(((await on.json()) as { intrusion: boolean }).intrusion).toBe(true);
    // The same state again is no change: nothing is queued for it.
    expect((await control(cam, { intrusion: true })).status).toBe(200);
    const raised = await pull();
    expect(brief(raised)).toEqual([[AnalyticsTopic.fieldDetector, 'Changed', 'IsInside', 'true']]);
    expect(raised[0]!.source).toEqual([
      { name: 'VideoSourceConfigurationToken', value: 'VideoSourceConfig_1' },
      { name: 'VideoAnalyticsConfigurationToken', value: 'VideoAnalyticsConfig_1' },
      { name: 'Rule', value: 'MyFieldDetectorRule' },
    ]);
    expect((await control(cam, { intrusion: false })).status).toBe(200);
    expect(brief(await pull())).toEqual([[AnalyticsTopic.fieldDetector, 'Changed', 'IsInside', 'false']]);

    // A crossing is one message with no property operation, each with its own object id.
    const before = Date.now();
    expect((await control(cam, { lineCrossing: true })).status).toBe(200);
    expect((await control(cam, { lineCrossing: true })).status).toBe(200);
    const crossings = await pull();
    expect(brief(crossings)).toEqual([
      [AnalyticsTopic.lineDetector, undefined, 'ObjectId', '1'],
      [AnalyticsTopic.lineDetector, undefined, 'ObjectId', '2'],
    ]);
    expect(crossings[0]!.source.find((i) => i.name === 'Rule')?.value).toBe('MyLineDetectorRule');
    expect(crossings[0]!.utcTime.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(cam.state).toMatchObject({ solar: false, intrusion: false, lineCrossings: 2 });

    for (const bad of [{ intrusion: 'yes' }, { lineCrossing: false }, { lineCrossing: 1 }]) expect((await control(cam, bad)).status).toBe(400);
    expect(await pull()).toEqual([]);
  });

  it('makes a solar camera with motion detection only', async () => {
    const cam = await camera({ serial: 'SOLAR0001', solar: true });
    expect(cam.identity.model).toBe(SOLAR_CAMERA_MODEL);
    expect(cam.identity.model.startsWith('DS-2XS')).toBe(true);
    const props = parseGetEventPropertiesResponse(await (await soap(cam.eventsServiceUrl, buildGetEventProperties(auth(Date.now())))).text());
    expect(props.ok && props.value).toEqual([MotionTopic.cellMotion, MotionTopic.motionAlarm]);
    const info = parseGetDeviceInformationResponse(await (await soap(cam.deviceServiceUrl, buildGetDeviceInformation(auth(Date.now())))).text());
    expect(info.ok && info.value.model).toBe(SOLAR_CAMERA_MODEL);

    const pull = await subscription(cam);
    expect(brief(await pull())).toEqual([
      [MotionTopic.cellMotion, 'Initialized', 'IsMotion', 'false'],
      [MotionTopic.motionAlarm, 'Initialized', 'State', 'false'],
    ]);
    for (const refused of [{ intrusion: true }, { lineCrossing: true }, { motion: true, intrusion: true }]) {
      const res = await control(cam, refused);
      expect(res.status).toBe(409);
      expect(((await res.json()) as { code: string }).code).toBe('NOT_SUPPORTED');
    }
    // A refused control changed nothing, motion included.
    expect(cam.state).toMatchObject({ solar: true, motion: false, intrusion: false, lineCrossings: 0 });
    expect(() => cam.setIntrusion(true)).toThrow(CameraFeatureError);
    expect(() => cam.crossLine()).toThrow(CameraFeatureError);
    expect(await pull()).toEqual([]);

    expect((await control(cam, { motion: true })).status).toBe(200);
    expect(brief(await pull())).toEqual([
      [MotionTopic.cellMotion, 'Changed', 'IsMotion', 'true'],
      [MotionTopic.motionAlarm, 'Changed', 'State', 'true'],
    ]);
    expect(() => new IpCameraSimulator({ serial: 'SOLAR0002', solar: true, model: 'DS-2CD2143G2-I' })).toThrow(RangeError);
  });
});
