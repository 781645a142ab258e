import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { clampLatency, controlProblem, readBody, sendJson } from '../http.js';
import type { AddressInfo } from 'node:net';
import {
  DEVICE_SERVICE_PATH,
  DEVICE_TYPE,
  FaultCode,
  FaultSubcode,
  NETWORK_VIDEO_TRANSMITTER,
  OnvifScope,
  UsernameTokenVerifier,
  buildFault,
  buildGetDeviceInformationResponse,
  buildGetSystemDateAndTimeResponse,
  buildProbeMatches,
  faultHttpStatus,
  parseEnvelope,
  parseProbe,
  probeMatches,
  scope,
} from '@vigil/protocol/onvif';

/** What a camera says about itself (the label on the box and its ONVIF device information). */
export interface CameraIdentity {
  manufacturer: string;
  model: string;
  serial: string;
  firmware: string;
  hardwareId: string;
  /** The code printed on the label, used to add the device to a site by serial + code. */
  verificationCode: string;
  /** The device name (ONVIF `name` scope). */
  name: string;
}

export interface IpCameraOptions extends Partial<CameraIdentity> {
  serial: string;
  /** The admin account (default admin / admin12345). */
  username?: string;
  password?: string;
  /** Interface to bind both sockets to (default 127.0.0.1). */
  host?: string;
  /** Host written in XAddrs; defaults to `host`. */
  advertiseHost?: string;
  /** 0 (the default) picks a free port. */
  httpPort?: number;
  discoveryPort?: number;
  /** Delay added before every ONVIF and WS-Discovery answer. */
  latencyMs?: number;
  reachable?: boolean;
  /** The camera's clock in ms since the epoch (default the host clock). */
  clock?: () => number;
}

export interface IpCameraCounters {
  soapRequests: number;
  authFailures: number;
  probes: number;
  probeMatchesSent: number;
  /** Requests and datagrams left unanswered because the camera was unreachable. */
  dropped: number;
}

export interface IpCameraState {
  serial: string;
  host: string;
  http: number;
  discovery: number;
  reachable: boolean;
  latencyMs: number;
  running: boolean;
  deviceServiceUrl: string;
  counters: IpCameraCounters;
}

/** What a camera reports as it works, for tests to wait on instead of sleeping. */
export interface IpCameraEvents {
  /** A SOAP request was answered (after the latency). */
  soap: [operation: string, status: number];
  /** A Probe was read; `matched` says whether it gets a ProbeMatches. */
  probe: [messageId: string, matched: boolean];
  /** A request or datagram was left unanswered because the camera is unreachable. */
  dropped: [kind: 'http' | 'udp'];
}

/** The ports a started camera listens on (the shape of one entry of the CLI's ready line). */
export interface CameraEndpoints {
  serial: string;
  host: string;
  http: number;
  discovery: number;
}

const SOAP_CONTENT_TYPE = 'application/soap+xml; charset=utf-8';

/** A stable WS-Discovery endpoint reference derived from the serial, so a restarted camera keeps its identity. */
export function endpointReferenceFor(serial: string): string {
  const h = createHash('sha1').update(`vigil-camera:${serial}`).digest('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * A simulated ONVIF IP camera: the device service over HTTP (GetSystemDateAndTime without authentication,
 * GetDeviceInformation behind WS-UsernameToken) and unicast WS-Discovery over UDP, both on one interface.
 * `setReachable(false)` cuts it off: SOAP requests are held unanswered and datagrams ignored, as behind a dead
 * link. The control endpoints (`/__sim/...`) keep answering so that a test can bring it back.
 */
export class IpCameraSimulator extends EventEmitter<IpCameraEvents> {
  readonly identity: CameraIdentity;
  readonly username: string;
  readonly host: string;
  private readonly password: string;
  private readonly advertiseHost: string;
  private readonly wantedHttpPort: number;
  private readonly wantedDiscoveryPort: number;
  private readonly clock: () => number;
  private readonly verifier: UsernameTokenVerifier;
  private readonly endpointReference: string;
  private latency: number;
  private reachable: boolean;
  private server: Server | undefined;
  private udp: UdpSocket | undefined;
  private httpPort = 0;
  private discoveryPort = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Requests held open while unreachable; destroyed when the link comes back or the camera stops. */
  private readonly held = new Set<IncomingMessage>();
  private readonly counters: IpCameraCounters = { soapRequests: 0, authFailures: 0, probes: 0, probeMatchesSent: 0, dropped: 0 };

  constructor(opts: IpCameraOptions) {
    super();
    this.identity = {
      manufacturer: opts.manufacturer ?? 'Vigil Sim',
      model: opts.model ?? 'VC-2000',
      serial: opts.serial,
      firmware: opts.firmware ?? 'V1.0.0 build 20261101',
      hardwareId: opts.hardwareId ?? '1.0',
      verificationCode: opts.verificationCode ?? verificationCodeFor(opts.serial),
      name: opts.name ?? `Camera ${opts.serial}`,
    };
    this.username = opts.username ?? 'admin';
    this.password = opts.password ?? 'admin12345';
    this.host = opts.host ?? '127.0.0.1';
    this.advertiseHost = opts.advertiseHost ?? this.host;
    this.wantedHttpPort = opts.httpPort ?? 0;
    this.wantedDiscoveryPort = opts.discoveryPort ?? 0;
    this.latency = clampLatency(opts.latencyMs ?? 0);
    this.reachable = opts.reachable ?? true;
    this.clock = opts.clock ?? Date.now;
    this.verifier = new UsernameTokenVerifier({ users: (u: string) => (u === this.username ? this.password : undefined), now: this.clock });
    this.endpointReference = endpointReferenceFor(opts.serial);
  }

  get deviceServiceUrl(): string {
    const h = this.advertiseHost.includes(':') ? `[${this.advertiseHost}]` : this.advertiseHost;
    return `http://${h}:${this.httpPort}${DEVICE_SERVICE_PATH}`;
  }

  get endpoints(): CameraEndpoints {
    return { serial: this.identity.serial, host: this.host, http: this.httpPort, discovery: this.discoveryPort };
  }

  get state(): IpCameraState {
    return {
      serial: this.identity.serial,
      host: this.host,
      http: this.httpPort,
      discovery: this.discoveryPort,
      reachable: this.reachable,
      latencyMs: this.latency,
      running: this.server !== undefined,
      deviceServiceUrl: this.deviceServiceUrl,
      counters: { ...this.counters },
    };
  }

  setReachable(reachable: boolean): void {
    this.reachable = reachable;
    if (reachable) this.releaseHeld();
  }

  setLatency(ms: number): void {
    this.latency = clampLatency(ms);
  }

  async start(): Promise<CameraEndpoints> {
    if (this.server) return this.endpoints;
    const server = createServer((req, res) => this.onHttp(req, res));
    const udp = createSocket({ type: 'udp4', reuseAddr: false });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.wantedHttpPort, this.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(this.wantedDiscoveryPort, this.host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      server.close();
      udp.close();
      throw e;
    }
    // A failed send (e.g. the prober went away) must not take the simulator down.
    udp.on('error', () => undefined);
    udp.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
    this.server = server;
    this.udp = udp;
    this.httpPort = (server.address() as AddressInfo).port;
    this.discoveryPort = udp.address().port;
    return this.endpoints;
  }

  async stop(): Promise<void> {
    const server = this.server;
    const udp = this.udp;
    this.server = undefined;
    this.udp = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.releaseHeld();
    const closing: Promise<void>[] = [];
    if (udp) closing.push(new Promise<void>((resolve) => udp.close(() => resolve())));
    if (server) {
      closing.push(new Promise<void>((resolve) => server.close(() => resolve())));
      server.closeAllConnections();
    }
    await Promise.all(closing);
  }

  /** Runs `fn` after the configured latency; timers are tracked so that stop() leaves nothing behind. */
  private later(fn: () => void): void {
    if (this.latency === 0) {
      fn();
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, this.latency);
    this.timers.add(t);
  }

  private releaseHeld(): void {
    for (const req of this.held) req.socket.destroy();
    this.held.clear();
  }

  private hold(req: IncomingMessage): void {
    this.counters.dropped++;
    this.held.add(req);
    req.socket.once('close', () => this.held.delete(req));
    this.emit('dropped', 'http');
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://camera');
    const route = `${req.method ?? ''} ${url.pathname}`;
    if (route === 'GET /__sim/state') return sendJson(res, 200, this.state);
    if (route === `POST ${DEVICE_SERVICE_PATH}` && !this.reachable) return this.hold(req);
    readBody(req, (body) => {
      if (body === undefined) return sendJson(res, 413, { statusCode: 413, code: 'BODY_TOO_LARGE', message: 'body too large' });
      if (route === 'POST /__sim/control') return this.onControl(body, res);
      if (route === `POST ${DEVICE_SERVICE_PATH}`) {
        this.counters.soapRequests++;
        const answer = this.answerSoap(body);
        this.later(() => {
          // The link may have gone down while the answer was delayed.
          if (!this.reachable) return this.hold(req);
          res.writeHead(answer.status, { 'content-type': SOAP_CONTENT_TYPE });
          res.end(answer.xml);
          this.emit('soap', answer.operation, answer.status);
        });
        return;
      }
      sendJson(res, 404, { statusCode: 404, code: 'NOT_FOUND', message: `no route ${route}` });
    });
  }

  private onControl(body: Buffer, res: ServerResponse): void {
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch {
      return sendJson(res, 400, { statusCode: 400, code: 'BAD_JSON', message: 'body is not JSON' });
    }
    const problem = controlProblem(input);
    if (problem) return sendJson(res, 400, { statusCode: 400, code: 'BAD_CONTROL', message: problem });
    const c = input as { reachable?: boolean; latencyMs?: number };
    if (c.latencyMs !== undefined) this.setLatency(c.latencyMs);
    if (c.reachable !== undefined) this.setReachable(c.reachable);
    sendJson(res, 200, this.state);
  }

  private answerSoap(body: Buffer): { operation: string; status: number; xml: string } {
    const env = parseEnvelope(body);
    const operation = env.ok ? (env.value.operation ?? '') : '';
    const fault = (code: FaultCode, subcode: string, reason: string) => ({
      operation,
      status: faultHttpStatus(code),
      xml: buildFault({ code, subcodes: [subcode], reason }),
    });
    if (!env.ok) return fault(FaultCode.sender, FaultSubcode.wellFormed, env.error);
    switch (operation) {
      case 'GetSystemDateAndTime':
        return { operation, status: 200, xml: buildGetSystemDateAndTimeResponse({ now: new Date(this.clock()) }) };
      case 'GetDeviceInformation': {
        const auth = this.verifier.verify(env.value.header);
        if (!auth.ok) {
          this.counters.authFailures++;
          return fault(FaultCode.sender, FaultSubcode.notAuthorized, 'Sender not Authorized');
        }
        const id = this.identity;
        return {
          operation,
          status: 200,
          xml: buildGetDeviceInformationResponse({
            manufacturer: id.manufacturer,
            model: id.model,
            firmwareVersion: id.firmware,
            serialNumber: id.serial,
            hardwareId: id.hardwareId,
          }),
        };
      }
      default:
        return fault(FaultCode.receiver, FaultSubcode.actionNotSupported, `${operation || 'empty Body'} is not supported`);
    }
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    if (!this.reachable) {
      this.counters.dropped++;
      this.emit('dropped', 'udp');
      return;
    }
    const probe = parseProbe(msg);
    if (!probe.ok) return;
    this.counters.probes++;
    const types = [NETWORK_VIDEO_TRANSMITTER, DEVICE_TYPE];
    const scopes = [
      scope(OnvifScope.type, 'video_encoder'),
      scope(OnvifScope.profile, 'Streaming'),
      scope(OnvifScope.hardware, this.identity.model),
      scope(OnvifScope.name, this.identity.name),
    ];
    const matched = probeMatches(probe.value, types, scopes);
    this.emit('probe', probe.value.messageId, matched);
    if (!matched) return;
    const reply = Buffer.from(
      buildProbeMatches({
        relatesTo: probe.value.messageId,
        matches: [{ endpointReference: this.endpointReference, types, scopes, xAddrs: [this.deviceServiceUrl], metadataVersion: 1 }],
      }),
    );
    this.later(() => {
      const udp = this.udp;
      if (!udp || !this.reachable) return;
      this.counters.probeMatchesSent++;
      udp.send(reply, rinfo.port, rinfo.address);
    });
  }
}

/** A six-letter code derived from the serial, like the one printed on a device label. */
export function verificationCodeFor(serial: string): string {
  const h = createHash('sha256').update(`vigil-code:${serial}`).digest();
  const letters = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
  return Array.from(h.subarray(0, 6), (b) => letters[b % letters.length]).join('');
}

