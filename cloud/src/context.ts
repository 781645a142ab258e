import type { FastifyBaseLogger } from 'fastify';
import type { RelayConfigurator } from './alarms/configurator.js';
import type { ClipsConfigurator } from './cloud-storage/configurator.js';
import type { ClipUploads } from './clips/uploads.js';
import type { CloudConfig } from './config.js';
import type { Db } from './db/client.js';
import type { Presence } from './edges/presence.js';
import type { EdgeService } from './edges/service.js';
import type { Tunnel } from './edges/tunnel.js';
import type { JobQueue } from './jobs/queue.js';
import type { LiveHub } from './live/hub.js';
import type { MailOutbox } from './mail/outbox.js';
import type { SmsOutbox } from './sms/outbox.js';
import type { Metrics } from './metrics.js';
import type { P2pGateway } from './p2p/gateway.js';
import type { IpDomainMonitor } from './ipdomain/monitor.js';
import type { Throttle } from './security/throttle.js';
import type { Vault } from './security/vault.js';
import type { VideoSessions } from './video/sessions.js';

/** What every domain of the cloud shares, built once at start-up. */
export interface CloudContext {
  config: CloudConfig;
  db: Db;
  log: FastifyBaseLogger;
  jobs: JobQueue;
  hub: LiveHub;
  metrics: Metrics;
  throttles: { login: Throttle; claim: Throttle };
  tunnel: Tunnel;
  edges: EdgeService;
  /** Devices connected to the platform by themselves. */
  p2p: P2pGateway;
  /** Presence of devices added by IP/domain. */
  ipDomain: IpDomainMonitor;
  presence: Presence;
  /** Keeps the edge boxes' alarm relays configured from the ARC service. */
  alarms: RelayConfigurator;
  /** Encrypts the secrets the cloud must give back later (installers' default device passwords). */
  vault: Vault;
  /** Open video windows and the edge sessions behind them. */
  video: VideoSessions;
  /** Clip uploads from the edge boxes, and the store that keeps the finished clips. */
  clips: ClipUploads;
  /** Keeps the edge boxes' clip recording configured from the channels' cloud storage. */
  clipsConfigurator: ClipsConfigurator;
  /** The platform's outgoing email. */
  mail: MailOutbox;
  /** The platform's outgoing text messages. */
  sms: SmsOutbox;
  /** Where people and identity providers reach the cloud (VIGIL_PUBLIC_URL, or the address it listens on); set once listening. */
  publicUrl: string;
}
