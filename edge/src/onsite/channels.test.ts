import { decodeMessage, encodeEnvelope, envelope, RpcMethod, topics, type RecorderTarget, type RpcReplyData } from '@vigil/protocol';
import { DeviceHost, type SimDevice, type SimDeviceOptions } from '@vigil/simulators';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcServer } from '../rpc.js';
import { quietLog } from '../test/util.js';
import type { CommandMessage } from '../uplink.js';
import { NvrChannels } from './channels.js';

const PW = 'Vigil2024pw';

const hosts: DeviceHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop();
});

/** Simulated devices on 127.0.0.1, each on its own HTTP port. */
async function lan(devices: SimDeviceOptions[]): Promise<SimDevice[]> {
  const host = new DeviceHost({ sadpPort: 0, wsdPort: 0, multicast: false, devices: devices.map((d) => ({ channelCheckTimeoutMs: 300, ...d })) });
  hosts.push(host);
  await host.start();
  return host.devices;
}

const recorder = (d: SimDevice, password = PW): RecorderTarget => ({ serial: d.serial, ip: d.ip, httpPort: d.endpoints.httpPort, password });
const source = (cam: SimDevice, password = PW) => ({ ipAddress: cam.ip, port: cam.endpoints.httpPort, username: 'admin', password, serial: cam.serial });
const channels = new NvrChannels({ requestTimeoutMs: 2_000 });

describe('NVR channels through the edge box', () => {
  it('lists the channels in channel order with their camera, protocol and state', async () => {
    const [nvr, cam1, cam2] = await lan([
      { class: 'nvr', activated: true, password: PW },
      { class: 'camera', activated: true, password: PW },
      { class: 'camera', activated: true, password: PW },
    ]);
    await nvr!.addChannel({ ipAddress: cam1!.ip, managementPort: cam1!.endpoints.httpPort, username: 'admin', password: PW, name: 'Gate' });
    await nvr!.addChannel({ ipAddress: cam2!.ip, managementPort: cam2!.endpoints.httpPort, username: 'admin', password: 'Wrong1234x' });
    const r = await channels.list(recorder(nvr!));
    expect(r).toEqual({
      ok: true,
      recorder: {
        maxChannels: 8,
        sortedOnce: false,
        channels: [
          { id: 1, name: 'Gate', ipAddress: cam1!.ip, port: cam1!.endpoints.httpPort, protocol: 'HIKVISION', online: true, poe: false },
          { id: 2, name: 'IPCamera 02', ipAddress: cam2!.ip, port: cam2!.endpoints.httpPort, protocol: 'HIKVISION', online: false, poe: false },
        ],
      },
    });
  });

  it('adds cameras picked from the LAN and by address, one result each, refusing a wrong login, a duplicate and a silent address', async () => {
    const [nvr, cam1, cam2, other] = await lan([
      { class: 'nvr', activated: true, password: PW },
      { class: 'camera', activated: true, password: PW },
      { class: 'camera', activated: true, password: PW },
      { class: 'camera', activated: true, password: 'Other1234x' },
    ]);
    const r = await channels.add({
      recorder: recorder(nvr!),
      cameras: [
        source(cam1!),
        { ipAddress: cam2!.ip, port: cam2!.endpoints.httpPort, username: 'admin', password: PW, name: 'Yard' },
        source(other!),
        source(cam1!),
        { ipAddress: '127.0.0.1', port: 1, username: 'admin', password: PW },
      ],
    });
    if (!r.ok) throw new Error(r.message);
    expect(r.added.map((o) => [o.ok, o.code, o.channelId])).toEqual([
      [true, null, 1],
      [true, null, 2],
      [false, 'CAMERA_LOGIN_REFUSED', null],
      [false, 'CHANNEL_EXISTS', null],
      [false, 'CAMERA_UNREACHABLE', null],
    ]);
    expect(r.added[2]!.message).toMatch(/wrong user name or password/);
    expect(r.recorder.channels.map((c) => [c.id, c.name, c.online])).toEqual([
      [1, 'IPCamera 01', true],
      [2, 'Yard', true],
    ]);
    // The recorder itself holds them.
    expect(nvr!.state.channels.map((c) => c.managementPort)).toEqual([cam1!.endpoints.httpPort, cam2!.endpoints.httpPort]);
  });

  it('refuses a camera another device stands in for, and a camera when every channel is in use', async () => {
    const [nvr, cam1, cam2] = await lan([
      { class: 'nvr', activated: true, password: PW, ipChannels: 1 },
      { class: 'camera', activated: true, password: PW },
      { class: 'camera', activated: true, password: PW },
    ]);
    const impostor = await channels.add({ recorder: recorder(nvr!), cameras: [{ ...source(cam1!), serial: cam2!.serial }] });
    expect(impostor).toMatchObject({ ok: true, added: [{ ok: false, code: 'CAMERA_UNREACHABLE', message: expect.stringContaining(cam1!.serial) }] });
    const r = await channels.add({ recorder: recorder(nvr!), cameras: [source(cam1!), source(cam2!)] });
    expect(r).toMatchObject({ ok: true, added: [{ ok: true }, { ok: false, code: 'NVR_CHANNEL_LIMIT', message: expect.stringContaining('All 1 channels') }] });
    expect(nvr!.state.channels).toHaveLength(1);
  });

  it('deletes a channel, but not an unknown one nor a PoE port', async () => {
    const [nvr, poeNvr, cam] = await lan([
      { class: 'nvr', activated: true, password: PW },
      { class: 'nvr', activated: true, password: PW, flags: { poe: true }, ipChannels: 4 },
      { class: 'camera', activated: true, password: PW },
    ]);
    await nvr!.addChannel({ ipAddress: cam!.ip, managementPort: cam!.endpoints.httpPort, username: 'admin', password: PW });
    expect(await channels.remove({ recorder: recorder(nvr!), channelId: 7 })).toMatchObject({ ok: false, code: 'CHANNEL_NOT_FOUND' });
    expect(await channels.remove({ recorder: recorder(nvr!), channelId: 1 })).toEqual({ ok: true, recorder: { maxChannels: 8, sortedOnce: false, channels: [] } });
    expect(nvr!.state.channels).toEqual([]);
    expect(await channels.remove({ recorder: recorder(poeNvr!), channelId: 2 })).toMatchObject({ ok: false, code: 'POE_CHANNEL_FIXED' });
    expect(poeNvr!.state.channels).toHaveLength(4);
  });

  it('sets the channel order, refusing an order that leaves a channel out', async () => {
    const [nvr, ...cams] = await lan([
      { class: 'nvr', activated: true, password: PW },
      { class: 'camera', activated: true, password: PW },
      { class: 'camera', activated: true, password: PW },
      { class: 'camera', activated: true, password: PW },
    ]);
    for (const c of cams) await nvr!.addChannel({ ipAddress: c.ip, managementPort: c.endpoints.httpPort, username: 'admin', password: PW });
    const bad = await channels.order({ recorder: recorder(nvr!), order: [3, 1] });
    expect(bad).toMatchObject({ ok: false, code: 'INVALID_CHANNEL_ORDER', message: expect.stringContaining('1, 2, 3') });
    const r = await channels.order({ recorder: recorder(nvr!), order: [3, 1, 2] });
    expect(r).toMatchObject({ ok: true, recorder: { sortedOnce: true } });
    if (r.ok) expect(r.recorder.channels.map((c) => c.id)).toEqual([3, 1, 2]);
    expect(nvr!.state.sortedOnce).toBe(true);
    expect(nvr!.state.channels.map((c) => [c.id, c.order])).toEqual([
      [1, 2],
      [2, 3],
      [3, 1],
    ]);
  });

  it('refuses a wrong recorder password, a device that is not a recorder, another device at the address, silence and a busy recorder', async () => {
    const [nvr, cam] = await lan([
      { class: 'nvr', activated: true, password: PW },
      { class: 'camera', activated: true, password: PW },
    ]);
    expect(await channels.list(recorder(nvr!, 'Wrong1234x'))).toMatchObject({ ok: false, code: 'DEVICE_LOGIN_FAILED', message: expect.stringContaining('wrong admin password') });
    expect(await channels.list(recorder(cam!))).toMatchObject({ ok: false, code: 'NOT_A_RECORDER' });
    expect(await channels.list({ ...recorder(cam!), serial: nvr!.serial })).toMatchObject({ ok: false, code: 'DEVICE_NOT_ON_LAN', message: expect.stringContaining(cam!.serial) });
    expect(await channels.list({ ...recorder(nvr!), httpPort: 1 })).toMatchObject({ ok: false, code: 'DEVICE_NOT_ON_LAN', message: expect.stringContaining('not on the LAN') });
    const busy = new NvrChannels({ busy: (s) => (s === nvr!.serial ? 'The recorder is busy in initialization job j1.' : undefined) });
    expect(await busy.list(recorder(nvr!))).toEqual({ ok: false, code: 'DEVICE_BUSY', message: 'The recorder is busy in initialization job j1.' });
  });

  it('answers the channel RPCs of the cloud', async () => {
    const [nvr] = await lan([{ class: 'nvr', activated: true, password: PW }]);
    const replies: RpcReplyData[] = [];
    const rpc = new RpcServer(quietLog, async (_id, reply) => {
      replies.push(reply);
    });
    channels.register(rpc);
    const topic = topics.command('VGTEST0001', RpcMethod.nvrChannelsList);
    const command = decodeMessage(topic, encodeEnvelope(envelope('command', { deadline: Date.now() + 5_000, params: { recorder: recorder(nvr!) } })));
    if (!command.ok) throw new Error(command.error);
    await rpc.handle(command.value as CommandMessage);
    expect(replies).toEqual([{ ok: true, result: { ok: true, recorder: { maxChannels: 8, sortedOnce: false, channels: [] } } }]);
  });
});
