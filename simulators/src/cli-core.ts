import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fail, ok, type Result } from '@vigil/protocol';
import { CameraFleet } from './camera/fleet.js';
import type { CameraEndpoints, IpCameraOptions } from './camera/ip-camera.js';
import { DeviceHost, parseLanSpec, type LanReadyLine, type LanSpec } from './devices/host.js';
import { parsePanelsSpec, type PanelsSpec } from './panels/cli.js';
import { parseRtspSpec, type RtspSpec } from './rtsp/cli.js';

export { parseReceiverArgs, runReceiver } from './receiver/cli.js';
export { runPanels } from './panels/cli.js';
export { runRtsp } from './rtsp/cli.js';

export const USAGE = `usage:
  vigil-sim camera  [--serial S] [--model M] [--manufacturer M] [--firmware F] [--name N]
                    [--host 127.0.0.1] [--http-port 0] [--discovery-port 0] [--rtsp-port 0]
                    [--user admin] [--password P] [--latency-ms N] [--ptz] [--encrypted] [--audio]
                    [--solar] (a DS-2XS solar camera: motion events only, no intrusion or line crossing)
                    [--main-codec h264|h265|mjpeg] [--main-size 1920x1080] [--main-fps 25] (and --sub-...)
  vigil-sim cameras --count N [--serial-prefix VCAM] [same options as camera, ports are bases]
  vigil-sim lan     --spec <file.json> | --spec-json '<json>'
                    spec: {"sadpPort"?:37020,"wsdPort"?:3702,"multicast"?:true,"devices":[{"class":"camera",...}]}
                    switch VLANs: "poePorts"?:8,"uplinkPorts"?:2,"aggregation"?:[[9,10]],"maxVlansPerBatch"?:8
                    Hik-Connect: "platformUrl"?:"http://host:port","hikConnect"?:true; AX HOME panel: "flags":{"axHome":true}
                    NVR/DVR alert stream: "alertHeartbeatMs"?:10000; events fired with POST /__sim/control
                    {"event":{"channel":1,"type":"motion|intrusion|lineCrossing","active"?:true|false}}
  vigil-sim receiver [--host 127.0.0.1] [--tcp-port 0] [--udp-port 0] [--http-port 0]
                    [--account ACCT[:KEYHEX]]... [--delay-ms N] [--dedup-window-ms N] [--silent]
  vigil-sim panels  --spec <file.json> | --spec-json '<json>'
                    spec: {"panels":[{"model":"AX PRO","serial"?,"zones"?:[{"type":"delay",...}],
                    "arc"?:{"enabled":true,"accountCode":"1234","protocol":"SIA-DCS","receiver":{"host","port","transport"},...},
                    "platformUrl"?,"hikConnect"?}]}
  vigil-sim rtsp    --spec <file.json> | --spec-json '<json>'
                    spec: {"host"?,"port"?,"username"?,"password"?,"basicAuth"?,"sessionTimeoutSec"?,"idleStopMs"?,
                    "streams":[{"path":"/live/main","codec"?:"h264|h265|mjpeg","width"?,"height"?,"fps"?,
                    "bitrateKbps"?,"profile"?,"audio"?,"pattern"?,"label"?}]}
Prints one JSON line once listening: {"ready":true,"cameras":[{"serial","http","discovery","host"}]}
(camera, cameras) or {"ready":true,"devices":[{"serial","shortSerial","class","model","mac","ip","listenIp",
"httpPort","sadpPort","wsdPort","activated"}]} (lan) or {"ready":true,"host","tcp","udp","http"} (receiver) or
{"ready":true,"panels":[{"model","serial","shortSerial","host","httpPort","verificationCode"}]} (panels) or
{"ready":true,"rtsp":PORT,"streams":[{"path","url","codec","width","height","audio"}]} (rtsp);
stops on SIGTERM or SIGINT.`;

export type CliCommand = { kind: 'cameras'; count: number; serialPrefix: string; camera: Omit<IpCameraOptions, 'serial'> & { serial?: string } };

export interface ReadyLine {
  ready: true;
  cameras: CameraEndpoints[];
}

export interface RunningCli {
  ready: ReadyLine;
  stop(): Promise<void>;
}

const PORT = /^\d{1,5}$/;
const INT = /^\d{1,9}$/;

/** Parses the arguments after the program name. Never throws. */
export function parseCliArgs(argv: readonly string[]): Result<CliCommand> {
  const [sub, ...rest] = argv;
  if (sub !== 'camera' && sub !== 'cameras') return fail(sub === undefined ? 'missing command' : `unknown command ${sub}`);
  let values: Record<string, string | undefined>;
  let flags: { ptz?: boolean; encrypted?: boolean; audio?: boolean; solar?: boolean };
  try {
    const parsed = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        serial: { type: 'string' },
        'serial-prefix': { type: 'string' },
        count: { type: 'string' },
        model: { type: 'string' },
        manufacturer: { type: 'string' },
        firmware: { type: 'string' },
        name: { type: 'string' },
        host: { type: 'string' },
        'http-port': { type: 'string' },
        'discovery-port': { type: 'string' },
        'rtsp-port': { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        'latency-ms': { type: 'string' },
        ptz: { type: 'boolean' },
        encrypted: { type: 'boolean' },
        audio: { type: 'boolean' },
        solar: { type: 'boolean' },
        'main-codec': { type: 'string' },
        'main-size': { type: 'string' },
        'main-fps': { type: 'string' },
        'sub-codec': { type: 'string' },
        'sub-size': { type: 'string' },
        'sub-fps': { type: 'string' },
      },
    });
    const { ptz, encrypted, audio, solar, ...strings } = parsed.values;
    values = strings;
    flags = { ptz, encrypted, audio, solar };
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const port = (key: string): Result<number> => {
    const v = values[key];
    if (v === undefined) return ok(0);
    const n = Number(v);
    return PORT.test(v) && n <= 65535 ? ok(n) : fail(`--${key} must be a port number (0 picks a free one)`);
  };
  const httpPort = port('http-port');
  if (!httpPort.ok) return httpPort;
  const discoveryPort = port('discovery-port');
  if (!discoveryPort.ok) return discoveryPort;
  const rtspPort = values['rtsp-port'];
  if (rtspPort !== undefined && !(PORT.test(rtspPort) && Number(rtspPort) <= 65535)) {
    return fail('--rtsp-port must be a port number (0 picks a free one)');
  }
  const latency = values['latency-ms'];
  if (latency !== undefined && !INT.test(latency)) return fail('--latency-ms must be a non-negative integer');
  if (flags.solar && values.model !== undefined && !values.model.startsWith('DS-2XS')) return fail('--solar needs a solar model (DS-2XS...) or none');
  let count = 1;
  if (sub === 'cameras') {
    const c = values.count;
    if (c === undefined || !INT.test(c) || Number(c) < 1 || Number(c) > 1000) return fail('cameras needs --count from 1 to 1000');
    count = Number(c);
    if (values.serial !== undefined) return fail('--serial is for one camera; use --serial-prefix');
  } else if (values.count !== undefined || values['serial-prefix'] !== undefined) {
    return fail('--count and --serial-prefix are for the cameras command');
  }
  const streams: NonNullable<IpCameraOptions['streams']> = {};
  for (const name of ['main', 'sub'] as const) {
    const codec = values[`${name}-codec`];
    const size = values[`${name}-size`];
    const fps = values[`${name}-fps`];
    const knownCodec = (['h264', 'h265', 'mjpeg'] as const).find((c) => c === codec);
    if (codec !== undefined && knownCodec === undefined) return fail(`--${name}-codec must be h264, h265 or mjpeg`);
    const wh = size === undefined ? undefined : /^(\d{2,4})x(\d{2,4})$/.exec(size);
    if (wh === null || (wh && [wh[1], wh[2]].some((n) => Number(n) < 16 || Number(n) > 8192))) {
      return fail(`--${name}-size must be WIDTHxHEIGHT from 16 to 8192, e.g. 1920x1080`);
    }
    if (fps !== undefined && !(/^\d{1,3}$/.test(fps) && Number(fps) >= 1 && Number(fps) <= 60)) return fail(`--${name}-fps must be 1 to 60`);
    const stream = {
      ...(knownCodec === undefined ? {} : { codec: knownCodec }),
      ...(wh === undefined ? {} : { width: Number(wh[1]), height: Number(wh[2]) }),
      ...(fps === undefined ? {} : { fps: Number(fps) }),
      ...(flags.audio ? { audio: true } : {}),
    };
    if (Object.keys(stream).length > 0) streams[name] = stream;
  }
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return ok({
    kind: 'cameras',
    count,
    serialPrefix: values['serial-prefix'] ?? 'VCAM',
    camera: defined({
      serial: values.serial,
      model: values.model,
      manufacturer: values.manufacturer,
      firmware: values.firmware,
      name: values.name,
      host: values.host,
      httpPort: httpPort.value,
      discoveryPort: discoveryPort.value,
      rtspPort: rtspPort === undefined ? undefined : Number(rtspPort),
      username: values.user,
      password: values.password,
      latencyMs: latency === undefined ? undefined : Number(latency),
      ptz: flags.ptz,
      encryption: flags.encrypted,
      solar: flags.solar,
      streams: Object.keys(streams).length === 0 ? undefined : streams,
    }),
  });
}

/** Starts what the command describes and returns the ready line to print. */
export async function runCli(cmd: CliCommand): Promise<RunningCli> {
  const { serial, ...camera } = cmd.camera;
  const fleet = new CameraFleet({
    ...camera,
    count: cmd.count,
    serialPrefix: cmd.serialPrefix,
    ...(serial === undefined ? {} : { serials: [serial] }),
  });
  const cameras = await fleet.start();
  return { ready: { ready: true, cameras }, stop: () => fleet.stop() };
}

/** Parses the arguments of the lan command (after `lan`) and reads its spec. Never throws. */
export function parseLanArgs(argv: readonly string[]): Result<LanSpec> {
  const json = readJsonSpec(argv, 'lan');
  return json.ok ? parseLanSpec(json.value) : json;
}

/** Parses the arguments of the panels command (after `panels`) and reads its spec. Never throws. */
export function parsePanelsArgs(argv: readonly string[]): Result<PanelsSpec> {
  const json = readJsonSpec(argv, 'panels');
  return json.ok ? parsePanelsSpec(json.value) : json;
}

/** Parses the arguments of the rtsp command (after `rtsp`) and reads its spec. Never throws. */
export function parseRtspArgs(argv: readonly string[]): Result<RtspSpec> {
  const json = readJsonSpec(argv, 'rtsp');
  return json.ok ? parseRtspSpec(json.value) : json;
}

/** Reads the JSON spec given by `--spec <file>` or `--spec-json '<json>'`. Never throws. */
function readJsonSpec(argv: readonly string[], command: string): Result<unknown> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: { spec: { type: 'string' }, 'spec-json': { type: 'string' } },
    }));
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  if ((values.spec === undefined) === (values['spec-json'] === undefined)) return fail(`${command} needs exactly one of --spec and --spec-json`);
  let text: string;
  if (values.spec !== undefined) {
    try {
      text = readFileSync(values.spec, 'utf8');
    } catch (e) {
      return fail(`cannot read ${values.spec}: ${e instanceof Error ? e.message : String(e)}`);
    }
  } else text = values['spec-json']!;
  try {
    return ok(JSON.parse(text) as unknown);
  } catch {
    return fail('the spec is not JSON');
  }
}

/** Starts the devices of a spec and returns the ready line to print. */
export async function runLan(spec: LanSpec): Promise<{ ready: LanReadyLine; host: DeviceHost; stop(): Promise<void> }> {
  const host = new DeviceHost(spec);
  const devices = await host.start();
  return { ready: { ready: true, devices }, host, stop: () => host.stop() };
}
