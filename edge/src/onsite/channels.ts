import {
  buildChannelOrder,
  buildNewInputProxyChannel,
  ChannelRefusal,
  IsapiPath,
  IsapiSubStatus,
  parseDeviceInfo,
  parseInputProxyChannelList,
  parseTime,
  RpcMethod,
  shortSerial,
  type ChannelAddOutcome,
  type ChannelSource,
  type ChannelsRefused,
  type InputProxyChannelList,
  type NvrChannelsAddParams,
  type NvrChannelsAddResult,
  type NvrChannelsOrderParams,
  type NvrChannelsRemoveParams,
  type NvrChannelsResult,
  type RecorderChannels,
  type RecorderTarget,
} from '@vigil/protocol';
import type { RpcServer } from '../rpc.js';
import { DeviceClient, DeviceRefused, DeviceUnreachable } from './device-client.js';
import { ADMIN_USER } from './job.js';

const MAX_MESSAGE = 512;
/** Kept free before the deadline so the reply still reaches the cloud in time. */
const REPLY_MARGIN_MS = 1_000;
/** A recorder is not started on with less time than this left. */
const MIN_ATTEMPT_MS = 500;

export interface ChannelOptions {
  /** Per request (default 10 s). */
  requestTimeoutMs?: number;
  /** Why a recorder may not be touched now (e.g. an initialization job works on it), or undefined. */
  busy?: (serial: string) => string | undefined;
  now?: () => number;
}

/** A refusal told to the cloud as the answer (not an RPC failure): the installer can act on it. */
class Refusal extends Error {
  constructor(
    readonly code: ChannelRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** The recorder's client, and a client for a camera with the same timeouts. */
type Work<T> = (nvr: DeviceClient, cameraClient: (camera: ChannelSource) => DeviceClient) => Promise<T>;

const sameSerial = (a: string, b: string): boolean => a === b || (shortSerial(a) ?? a) === (shortSerial(b) ?? b);

/**
 * The channels of NVRs and DVRs on the LAN (manual §3.1.2, Table 3-4): list, add cameras, delete, sort. Every
 * call first checks that the recorder asked for answers at the address given; calls on one recorder run one
 * at a time. Refusals of the recorder or of a camera come back as answers with a code.
 */
export class NvrChannels {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: ChannelOptions = {}) {}

  list(recorder: RecorderTarget, deadline?: number): Promise<NvrChannelsResult> {
    return this.run(recorder, deadline, async (nvr) => ({ ok: true, recorder: view(await readChannels(nvr)) }));
  }

  add(params: NvrChannelsAddParams, deadline?: number): Promise<NvrChannelsAddResult> {
    return this.run(params.recorder, deadline, async (nvr, cameraClient) => {
      let list = await readChannels(nvr);
      const added: ChannelAddOutcome[] = [];
      for (const camera of params.cameras) {
        const outcome = await addOne(nvr, list, camera, cameraClient(camera));
        if (outcome.ok) {
          list = await readChannels(nvr);
          outcome.channelId ??= list.channels.find((c) => c.ipAddress === camera.ipAddress && c.managementPort === camera.port)?.id ?? null;
        }
        added.push(outcome);
      }
      return { ok: true, recorder: view(list), added };
    });
  }

  remove(params: NvrChannelsRemoveParams, deadline?: number): Promise<NvrChannelsResult> {
    return this.run(params.recorder, deadline, async (nvr) => {
      const id = params.channelId;
      const channel = (await readChannels(nvr)).channels.find((c) => c.id === id);
      if (!channel) throw new Refusal(ChannelRefusal.channelNotFound, `The recorder has no channel ${id}.`);
      if (channel.poe) throw new Refusal(ChannelRefusal.poeChannel, `Channel ${id} belongs to a PoE port of the recorder and cannot be deleted.`);
      await nvr.send('DELETE', `${IsapiPath.inputProxyChannels}/${id}`);
      return { ok: true, recorder: view(await readChannels(nvr)) };
    });
  }

  order(params: NvrChannelsOrderParams, deadline?: number): Promise<NvrChannelsResult> {
    return this.run(params.recorder, deadline, async (nvr) => {
      const have = (await readChannels(nvr)).channels.map((c) => c.id).sort((a, b) => a - b);
      const want = [...params.order].sort((a, b) => a - b);
      if (have.length !== want.length || have.some((id, i) => id !== want[i])) {
        throw new Refusal(ChannelRefusal.invalidOrder, `The order must name every channel of the recorder once: it has channels ${have.join(', ') || 'none'}.`);
      }
      await nvr.send('PUT', IsapiPath.inputProxyChannelOrder, buildChannelOrder(params.order));
      return { ok: true, recorder: view(await readChannels(nvr)) };
    });
  }

  /** Answers the channel RPCs of the cloud. */
  register(rpc: RpcServer): void {
    rpc.register(RpcMethod.nvrChannelsList, (p, ctx) => this.list(p.recorder, ctx.deadline));
    rpc.register(RpcMethod.nvrChannelsAdd, (p, ctx) => this.add(p, ctx.deadline));
    rpc.register(RpcMethod.nvrChannelsRemove, (p, ctx) => this.remove(p, ctx.deadline));
    rpc.register(RpcMethod.nvrChannelsOrder, (p, ctx) => this.order(p, ctx.deadline));
  }

  private run<T>(recorder: RecorderTarget, deadline: number | undefined, work: Work<T>): Promise<T | ChannelsRefused> {
    const reason = this.opts.busy?.(recorder.serial);
    if (reason !== undefined) return Promise.resolve(refused(ChannelRefusal.busy, reason));
    const key = shortSerial(recorder.serial) ?? recorder.serial;
    const result = (this.locks.get(key) ?? Promise.resolve()).then(() => this.attempt(recorder, deadline, work));
    const tail = result.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return result;
  }

  private async attempt<T>(recorder: RecorderTarget, deadline: number | undefined, work: Work<T>): Promise<T | ChannelsRefused> {
    const left = deadline === undefined ? Infinity : deadline - REPLY_MARGIN_MS - (this.opts.now ?? Date.now)();
    if (left < MIN_ATTEMPT_MS) throw new Error('not attempted: no time left before the deadline');
    // Every request, to the recorder or a camera, ends by the deadline.
    const signal = Number.isFinite(left) ? AbortSignal.timeout(left) : undefined;
    const client = (ip: string, port: number, username: string, password: string) =>
      new DeviceClient({ ip, port, username, password, timeoutMs: Math.min(this.opts.requestTimeoutMs ?? 10_000, left), ...(signal ? { signal } : {}) });
    const nvr = client(recorder.ip, recorder.httpPort, ADMIN_USER, recorder.password);
    try {
      const info = await nvr.get(IsapiPath.deviceInfo, parseDeviceInfo);
      if (!sameSerial(info.serialNumber, recorder.serial)) {
        throw new Refusal(ChannelRefusal.notOnLan, `Another device (${info.serialNumber}) answers at ${nvr.address}: the recorder ${recorder.serial} is not there.`);
      }
      if (info.deviceClass !== 'nvr' && info.deviceClass !== 'dvr') {
        throw new Refusal(ChannelRefusal.notRecorder, `${recorder.serial} is not an NVR or DVR (it says it is a ${info.deviceClass}): it has no channels.`);
      }
      return await work(nvr, (c) => client(c.ipAddress, c.port, c.username, c.password));
    } catch (e) {
      if (e instanceof Refusal) return refused(e.code, e.message);
      if (e instanceof DeviceUnreachable) return refused(ChannelRefusal.notOnLan, `${e.message}: the recorder is not on the LAN or is switched off.`);
      if (e instanceof DeviceRefused) return refused(...recorderRefusal(e));
      if (signal?.aborted) throw new Error(`the recorder did not finish before the deadline (${Math.round(left)} ms)`, { cause: e });
      throw e;
    }
  }
}

/** Adds one camera: refused up front when it is a channel already, no channel is free or the camera refuses its login. */
async function addOne(nvr: DeviceClient, list: InputProxyChannelList, camera: ChannelSource, cameraClient: DeviceClient): Promise<ChannelAddOutcome> {
  const at = `${camera.ipAddress}:${camera.port}`;
  const outcome = (ok: boolean, code: ChannelRefusal | null, message: string, channelId: number | null = null): ChannelAddOutcome => ({
    ipAddress: camera.ipAddress,
    port: camera.port,
    ok,
    channelId,
    code,
    message: message.slice(0, MAX_MESSAGE),
  });
  const existing = list.channels.find((c) => c.ipAddress === camera.ipAddress && c.managementPort === camera.port);
  if (existing) return outcome(false, ChannelRefusal.channelExists, `The camera at ${at} is channel ${existing.id} already.`);
  if (list.channels.length >= list.maxChannels) {
    return outcome(false, ChannelRefusal.channelLimit, `All ${list.maxChannels} channels of the recorder are in use: delete one first.`);
  }
  const problem = await checkCamera(camera, cameraClient);
  if (problem) return outcome(false, problem[0], problem[1]);
  try {
    const s = await nvr.send(
      'POST',
      IsapiPath.inputProxyChannels,
      buildNewInputProxyChannel({
        ipAddress: camera.ipAddress,
        managementPort: camera.port,
        username: camera.username,
        password: camera.password,
        ...(camera.name ? { name: camera.name } : {}),
      }),
    );
    return outcome(true, null, s?.id === undefined ? `The camera at ${at} was added.` : `The camera at ${at} was added as channel ${s.id}.`, s?.id ?? null);
  } catch (e) {
    if (!(e instanceof DeviceRefused)) throw e;
    const [code, message] = recorderRefusal(e);
    return outcome(false, code, `The camera at ${at} was not added: ${message}`);
  }
}

async function readChannels(nvr: DeviceClient): Promise<InputProxyChannelList> {
  return nvr.get(IsapiPath.inputProxyChannels, parseInputProxyChannelList);
}

function view(list: InputProxyChannelList): RecorderChannels {
  return {
    maxChannels: Math.min(list.maxChannels, 9999),
    sortedOnce: list.sortedOnce,
    channels: [...list.channels]
      .sort((a, b) => a.order - b.order)
      .map((c) => ({
        id: c.id,
        name: c.name.slice(0, 128),
        ipAddress: c.ipAddress,
        port: c.managementPort,
        protocol: (c.proxyProtocol ?? 'HIKVISION').slice(0, 32),
        online: c.online,
        poe: c.poe,
      })),
  };
}

const refused = (code: ChannelRefusal, message: string): ChannelsRefused => ({ ok: false, code, message: message.slice(0, MAX_MESSAGE) });

function recorderRefusal(e: DeviceRefused): [ChannelRefusal, string] {
  if (e.httpStatus === 401 || e.subStatus === IsapiSubStatus.unauthorized) {
    return [ChannelRefusal.loginFailed, 'The recorder refused the login: wrong admin password (or the account is locked).'];
  }
  if (e.subStatus === IsapiSubStatus.notActivated) return [ChannelRefusal.loginFailed, 'The recorder is not activated: activate it first.'];
  if (e.subStatus === IsapiSubStatus.channelLimitReached) return [ChannelRefusal.channelLimit, `No channel of the recorder is free (${e.status?.errorMsg ?? 'channel limit reached'}).`];
  return [ChannelRefusal.deviceRefused, `The recorder refused: ${e.message}.`];
}

/**
 * Logs in to the camera with the account the recorder is to use, so that a wrong password is told as such
 * rather than as a channel that stays offline. Null when the camera accepts it.
 */
async function checkCamera(camera: ChannelSource, client: DeviceClient): Promise<[ChannelRefusal, string] | null> {
  const at = `${camera.ipAddress}:${camera.port}`;
  try {
    // The clock needs the login even on a device that is not activated (which shows its deviceInfo to anyone).
    await client.get(IsapiPath.time, parseTime);
    if (camera.serial !== undefined) {
      const info = await client.get(IsapiPath.deviceInfo, parseDeviceInfo);
      if (!sameSerial(info.serialNumber, camera.serial)) return [ChannelRefusal.cameraUnreachable, `Another device (${info.serialNumber}) answers at ${at}, not the camera ${camera.serial}.`];
    }
    return null;
  } catch (e) {
    if (e instanceof DeviceUnreachable) return [ChannelRefusal.cameraUnreachable, `No answer from the camera at ${at}: check its address and port.`];
    if (!(e instanceof DeviceRefused)) throw e;
    if (e.httpStatus === 401 || e.subStatus === IsapiSubStatus.unauthorized) {
      return [ChannelRefusal.cameraLoginRefused, `The camera at ${at} refused the login of ${camera.username}: wrong user name or password.`];
    }
    if (e.subStatus === IsapiSubStatus.notActivated) return [ChannelRefusal.cameraLoginRefused, `The camera at ${at} is not activated: activate it first.`];
    return [ChannelRefusal.deviceRefused, `The camera at ${at} refused: ${e.message}.`];
  }
}
