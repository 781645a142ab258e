import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEnvelope, envelope, topics, type P2pInfoData, type P2pIsapiRequestData } from '@vigil/protocol';
import type { AppError } from '../http/errors.js';
import { registerCompany, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { answerIsapi, EdgePlayers, publish } from '../testing/edge.js';

let cloud: TestCloud;
let players: EdgePlayers;
let installer: Awaited<ReturnType<typeof registerCompany>>;
let site: string;

const camera = (serial: string): P2pInfoData => ({ serial, deviceClass: 'camera', model: 'DS-2CD2143G2-I', firmware: 'V5.7', name: 'Porch', channels: 1 });
const DEVICE_INFO = { method: 'GET', path: '/ISAPI/System/deviceInfo' } as const;

beforeAll(async () => {
  cloud = await startTestCloud();
  players = new EdgePlayers(cloud.mqttUrl);
  installer = await registerCompany(cloud.api);
  site = (await installer.client.post<{ id: string }>('/sites', { name: 'Depot', type: 'team', timeZone: 'Europe/London' })).body.id;
});

afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
});

/** A played device connected by itself and added to the site by serial. */
async function onSite(serial: string) {
  const device = await players.p2pDevice(serial, 'ABCDEF', camera(serial));
  const added = await installer.client.post(`/sites/${site}/devices/by-serial`, { serial, verificationCode: 'ABCDEF' });
  expect(added.status).toBe(201);
  return device;
}

/** The refusal a request ends in, as [status, code]. */
async function refusal(p: Promise<unknown>): Promise<[number, string]> {
  const err = (await p.then(
    () => null,
    (e: unknown) => e,
  )) as AppError | null;
  if (!err) throw new Error('the request succeeded');
  return [err.statusCode, err.code];
}

const refusals = (reason: string) => cloud.ctx.metrics.value('vigil_p2p_refused_total', { reason });
const outcomes = (outcome: string) => cloud.ctx.metrics.value('vigil_p2p_isapi_requests_total', { outcome });

describe('ISAPI requests to P2P devices over their own connection', () => {
  it("sends a request to a device on a site and resolves with the device's answer", async () => {
    const device = await onSite('I00000001');
    const seen: P2pIsapiRequestData[] = [];
    await answerIsapi(device, 'I00000001', (r) => {
      seen.push(r);
      return { status: 200, contentType: 'application/xml', body: '<DeviceInfo/>' };
    });
    const before = Date.now();
    const answer = await cloud.ctx.p2p.isapi('I00000001', { ...DEVICE_INFO }, 1000);
    expect(answer).toEqual({ status: 200, contentType: 'application/xml', body: '<DeviceInfo/>' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject(DEVICE_INFO);
    expect(seen[0]!.deadline).toBeGreaterThanOrEqual(before + 1000);
    expect(seen[0]!.deadline).toBeLessThanOrEqual(Date.now() + 1000);

    const put = await cloud.ctx.p2p.isapi('I00000001', { method: 'PUT', path: '/ISAPI/SecurityCP/control/arm/1?ways=away', body: '' }, 1000);
    expect(put.status).toBe(200);
    expect(seen[1]).toMatchObject({ method: 'PUT', path: '/ISAPI/SecurityCP/control/arm/1?ways=away', body: '' });
    expect(outcomes('answered')).toBeGreaterThanOrEqual(2);
  });

  it('times out with 504 RPC_TIMEOUT, and fails with 409 when the device is not connected or leaves before answering', async () => {
    const device = await onSite('I00000002');
    let received = 0;
    await answerIsapi(device, 'I00000002', () => (received++, null));
    const t0 = Date.now();
    expect(await refusal(cloud.ctx.p2p.isapi('I00000002', { ...DEVICE_INFO }, 200))).toEqual([504, 'RPC_TIMEOUT']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);

    // Leaving settles what is waiting, long before its timeout (the device leaves once the request reached it).
    const waiting = refusal(cloud.ctx.p2p.isapi('I00000002', { ...DEVICE_INFO }, 20_000));
    for (let end = Date.now() + 5000; received < 2 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
    expect(received).toBe(2);
    const t1 = Date.now();
    await device.endAsync(true);
    expect(await waiting).toEqual([409, 'DEVICE_NOT_CONNECTED']);
    expect(Date.now() - t1).toBeLessThan(5000);
    expect(outcomes('gone')).toBeGreaterThanOrEqual(1);

    expect(await refusal(cloud.ctx.p2p.isapi('I00000002', { ...DEVICE_INFO }, 1000))).toEqual([409, 'DEVICE_NOT_CONNECTED']);
    // Connected but not listening to its requests (a device that never subscribed) cannot be asked either.
    await players.p2pDevice('I00000002', 'ABCDEF', camera('I00000002'));
    expect(await refusal(cloud.ctx.p2p.isapi('I00000002', { ...DEVICE_INFO }, 1000))).toEqual([409, 'DEVICE_NOT_CONNECTED']);
  });

  it('sends nothing to a connected device that is on no site', async () => {
    const loose = await players.p2pDevice('I00000003', 'ABCDEF', camera('I00000003'));
    let asked = 0;
    await answerIsapi(loose, 'I00000003', () => {
      asked++;
      return { status: 200, body: '' };
    });
    expect(await refusal(cloud.ctx.p2p.isapi('I00000003', { ...DEVICE_INFO }, 500))).toEqual([404, 'DEVICE_NOT_FOUND']);
    expect(asked).toBe(0);
  });

  it("lets a device subscribe only to its own requests, not another device's or a wildcard", async () => {
    const device = await players.p2pDevice('I00000004', 'ABCDEF', camera('I00000004'));
    const before = refusals('subscribe');
    for (const topic of [topics.p2pIsapi('I00000005'), 'v1/device/+/isapi', 'v1/device/I00000004/#', topics.p2pInfo('I00000004')]) {
      await expect(device.subscribeAsync(topic, { qos: 1 }), topic).rejects.toThrow(/Subscribe error/);
    }
    expect(refusals('subscribe') - before).toBe(4);
    expect(await device.subscribeAsync(topics.p2pIsapi('I00000004'), { qos: 1 })).toEqual([{ topic: topics.p2pIsapi('I00000004'), qos: 1 }]);
    expect(device.connected).toBe(true);
  });

  it("drops and counts an answer to an unknown request or to another device's request, and disconnects a device replying for another", async () => {
    const asked = await onSite('I00000006');
    let requestId = '';
    await answerIsapi(asked, 'I00000006', () => null);
    asked.on('message', (_t, payload) => (requestId = (JSON.parse(Buffer.from(payload).toString('utf8')) as { id: string }).id));
    const pending = cloud.ctx.p2p.isapi('I00000006', { ...DEVICE_INFO }, 5000);
    const other = await onSite('I00000007');
    for (let end = Date.now() + 5000; !requestId && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
    expect(requestId).not.toBe('');

    // On its own answer topic, another device cannot answer a request it was not sent, nor an unknown one.
    const forged = encodeEnvelope(envelope('p2pIsapiReply', { status: 200, body: 'forged' }, { id: requestId }));
    const before = refusals('unknown_request');
    await publish(other, topics.p2pIsapiReply('I00000007', requestId), forged);
    await publish(other, topics.p2pIsapiReply('I00000007', 'req-00000000'), forged);
    expect(refusals('unknown_request') - before).toBe(2);
    expect(other.connected).toBe(true);

    // On the asked device's answer topic, it is disconnected.
    const closed = new Promise<void>((resolve) => other.once('close', () => resolve()));
    void publish(other, topics.p2pIsapiReply('I00000006', requestId), forged).catch(() => undefined);
    await closed;

    // The asked device's own answer still settles the request.
    await publish(asked, topics.p2pIsapiReply('I00000006', requestId), encodeEnvelope(envelope('p2pIsapiReply', { status: 200, body: 'genuine' }, { id: requestId })));
    expect((await pending).body).toBe('genuine');
    // An answer comes once: a second one is dropped.
    await publish(asked, topics.p2pIsapiReply('I00000006', requestId), encodeEnvelope(envelope('p2pIsapiReply', { status: 200, body: 'again' }, { id: requestId })));
    expect(refusals('unknown_request') - before).toBe(3);
  });

  it('refuses to send a request that breaks its schema', async () => {
    await answerIsapi(await onSite('I00000008'), 'I00000008', () => ({ status: 200, body: '' }));
    await expect(cloud.ctx.p2p.isapi('I00000008', { method: 'GET', path: '/not-isapi' }, 500)).rejects.toThrow(TypeError);
  });
});
