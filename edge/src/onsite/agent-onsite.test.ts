import { randomUUID } from 'node:crypto';
import {
  decodeMessage,
  encodeEnvelope,
  envelope,
  ONSITE_PROGRESS_EVENT,
  RpcMethod,
  topics,
  type EventData,
  type InitProgress,
  type LanInitializeParams,
  type RpcReplyData,
} from '@vigil/protocol';
import { DeviceHost, type SimDevice } from '@vigil/simulators';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../agent.js';
import { startFakeCloud } from '../test/cloud.js';
import { CODE, Lines, SERIAL, quietLog, tempDir, testConfig } from '../test/util.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('lan.initialize through the agent', () => {
  it('answers at once and reports every step through the outbox, in order', async () => {
    const host = new DeviceHost({ sadpPort: 0, wsdPort: 0, multicast: false, devices: [{ class: 'switch' }, { class: 'camera' }] });
    cleanups.push(() => host.stop());
    await host.start();
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const cloud = await startFakeCloud(SERIAL, CODE);
    cleanups.push(() => cloud.close());
    const lines = new Lines();
    const agent = await Agent.start(testConfig(tmp.dir), {
      log: quietLog,
      workers: [],
      mqttUrl: cloud.url,
      announce: lines.push,
      backoff: { initialMs: 20, maxMs: 100 },
      onsite: { requestTimeoutMs: 3_000, settleTimeoutMs: 3_000 },
    });
    cleanups.push(() => agent.shutdown('shutdown'));
    cloud.claim();
    await lines.waitFor((l) => l.event === 'connected' && l.mode === 'edge');

    const [sw, cam] = host.devices as [SimDevice, SimDevice];
    const params: LanInitializeParams = {
      jobId: randomUUID(),
      devices: [sw, cam].map((d) => ({ serial: d.serial, deviceClass: d.deviceClass, ip: d.ip, httpPort: d.endpoints.httpPort, activated: false })),
      password: 'Vigil2024pw',
      verificationCode: 'ABCDEF12',
      timeZone: 'Europe/Berlin',
    };
    const requestId = `req-${Date.now()}`;
    const replyMsg = cloud.waitFor((m) => m.topic === topics.reply(SERIAL, requestId));
    await cloud.publish(
      topics.command(SERIAL, RpcMethod.lanInitialize),
      encodeEnvelope(envelope('command', { deadline: Date.now() + 10_000, params }, { id: requestId })),
    );
    const reply = decodeMessage((await replyMsg).topic, (await replyMsg).payload);
    expect(reply.ok && (reply.value.envelope.data as RpcReplyData)).toEqual({ ok: true, result: { accepted: true } });

    const eventTopic = topics.event(SERIAL, ONSITE_PROGRESS_EVENT);
    await cloud.waitFor((m) => m.topic === eventTopic && m.payload.toString().includes('"job.done"'));
    const progress = cloud.received
      .filter((m) => m.topic === eventTopic)
      .map((m) => {
        const d = decodeMessage(m.topic, m.payload);
        if (!d.ok) throw new Error(d.error);
        const data = d.value.envelope.data as EventData;
        expect(typeof data.at).toBe('number');
        return data.details as InitProgress;
      });
    // Each device's reports arrive in the order they were made, job.done last.
    const trail = (serial: string) => progress.filter((p) => 'serial' in p && p.serial === serial).map((p) => ('state' in p ? `${p.step}:${p.state}` : ''));
    expect(trail(sw.serial).slice(0, 4)).toEqual(['activate:running', 'activate:done', 'network:running', 'network:done']);
    expect(trail(sw.serial)).toHaveLength(2 * 5 + 4);
    expect(trail(cam.serial)).toContain('camera:done');
    expect(progress.at(-1)).toEqual({ jobId: params.jobId, step: 'job.done' });
    expect(sw.state).toMatchObject({ activated: true, network: { dhcp: true } });
    expect(cam.state.clock.timeZone).toMatch(/^UTC-[12]:00:00$/);
    await agent.onsite.whenDone(params.jobId);
    expect(agent.onsite.active).toBe(0);
  });
});
