import { MAIL_JOB, MailOutbox } from './mail/outbox.js';
import { mailDeliveryJob } from './mail/delivery.js';
import { SMS_JOB, SmsOutbox } from './sms/outbox.js';
import { smsDeliveryJob } from './sms/delivery.js';
import { ensureVendorAdmin } from './vendor/bootstrap.js';
import { seedRegionFeatures } from './regions/features.js';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { RelayConfigurator } from './alarms/configurator.js';
import { ArcExceptionReporter } from './alarms/exceptions.js';
import { AlarmForwarder } from './alarms/forwarder.js';
import { AlarmLog } from './alarms/log.js';
import { publishPathReports } from './alarms/paths.js';
import { createBroker, MQTT_WS_PATH, type Broker } from './broker/broker.js';
import { routePolicies } from './broker/router.js';
import { ClipsConfigurator } from './cloud-storage/configurator.js';
import { ClipDropLog } from './clips/drops.js';
import { scheduleClipRetention } from './clips/retention.js';
import { openClipStore } from './clips/store.js';
import { ClipUploads } from './clips/uploads.js';
import type { CloudConfig } from './config.js';
import type { CloudContext } from './context.js';
import { openDatabase } from './db/client.js';
import { Presence } from './edges/presence.js';
import { EdgeService } from './edges/service.js';
import { Tunnel } from './edges/tunnel.js';
import { scheduleHousekeeping } from './jobs/housekeeping.js';
import { JobQueue } from './jobs/queue.js';
import { LiveHub } from './live/hub.js';
import { Metrics } from './metrics.js';
import { Throttle } from './security/throttle.js';
import { openVault } from './security/vault.js';
import { P2pGateway } from './p2p/gateway.js';
import { IpDomainMonitor } from './ipdomain/monitor.js';
import { buildApp } from './app.js';
import { VideoSessions } from './video/sessions.js';
import { startGrantExpirySweep } from './video/expiry.js';

export interface RunningCloud {
  httpPort: number;
  mqttTcpPort: number | null;
  url: string;
  ctx: CloudContext;
  close(): Promise<void>;
}

/** Opens the database, starts the broker, the jobs and the HTTP server, and returns once all listen. */
export async function startCloud(config: CloudConfig): Promise<RunningCloud> {
  const vault = openVault(config.secretKey, config.dataDir);
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  let broker: Broker | null = null;
  let ctx: CloudContext | null = null;
  const app = await buildApp(config, async (app) => {
    const { db } = database;
    const metrics = new Metrics();
    const hub = new LiveHub();
    const jobs = new JobQueue(db, app.log, config.jobPollMs);
    const presence = new Presence(db, jobs, hub);
    const tunnel = new Tunnel(db, presence, hub, metrics, app.log);
    const p2p = new P2pGateway(db, presence, metrics, app.log);
    broker = await createBroker(
      routePolicies([
        { accepts: P2pGateway.accepts, policy: p2p },
        { accepts: () => true, policy: tunnel },
      ]),
      app.log,
    );
    tunnel.attach(broker);
    p2p.attach(broker);
    publishPathReports(tunnel, hub, app.log);
    new AlarmLog(db, hub, app.log, tunnel);
    new ClipDropLog(db, hub, app.log, tunnel);
    // Uploads in progress are always on local disk, wherever finished clips are kept.
    const clips = new ClipUploads(db, openClipStore(config), join(config.dataDir, 'clips', 'partial'), hub, app.log);
    new AlarmForwarder(db, vault, tunnel, jobs, { rpcTimeoutMs: config.rpcTimeoutMs }, app.log);
    const claim = new Throttle(db, config.claimMaxFailures, config.claimLockSec);
    const alarms = new RelayConfigurator(db, vault, tunnel, config.rpcTimeoutMs, app.log);
    const exceptions = new ArcExceptionReporter(db, vault, jobs);
    presence.onEdgeStatus((serial, siteId) => {
      // Another box of the site may take over its panels, and their ARC may have to hear that the box is silent.
      alarms.siteChanged(siteId);
      exceptions.siteRelayChanged(siteId).catch((err: unknown) => app.log.warn({ err, serial }, 'ARC exception reports not scheduled'));
    });
    ctx = {
      config,
      db,
      log: app.log,
      jobs,
      hub,
      metrics,
      throttles: { login: new Throttle(db, config.loginMaxFailures, config.loginLockSec), claim },
      tunnel,
      edges: new EdgeService(db, claim, tunnel, presence),
      p2p,
      ipDomain: new IpDomainMonitor(db, jobs, presence, vault, { pollSec: config.ipDomainPollSec, allowPrivate: config.allowPrivateDeviceAddresses }, app.log),
      presence,
      alarms,
      vault,
      clips,
      video: new VideoSessions({ db, tunnel, log: app.log, rpcTimeoutMs: config.rpcTimeoutMs, connectTimeoutMs: config.videoConnectTimeoutMs }),
      clipsConfigurator: new ClipsConfigurator(db, vault, tunnel, jobs, { rpcTimeoutMs: config.rpcTimeoutMs, uploadLimitKbps: config.clipUploadLimitKbps }, app.log),
      mail: new MailOutbox(db, jobs, app.log),
      sms: new SmsOutbox(db, jobs, app.log),
      publicUrl: config.publicUrl ?? '',
    };
    await seedRegionFeatures(db);
    await ensureVendorAdmin(db, config.vendorAdmin, app.log);
    jobs.handle(MAIL_JOB, mailDeliveryJob(db, config, app.log));
    jobs.handle(SMS_JOB, smsDeliveryJob(db, config, app.log));
    await presence.resumeAfterRestart();
    await p2p.resumeAfterRestart();
    await ctx.ipDomain.schedule();
    await scheduleHousekeeping(db, jobs);
    await scheduleClipRetention(db, jobs, clips, config.clipRetentionIntervalMs);
    return ctx;
  });
  const b = broker as unknown as Broker;
  const c = ctx as unknown as CloudContext;
  // WebSocket upgrades: MQTT for edge boxes and devices, the video players and ingests; nothing else.
  app.server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] === MQTT_WS_PATH) b.handleUpgrade(req, socket, head);
    else if (!c.video.handleUpgrade(req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  try {
    await app.listen({ host: config.httpHost, port: config.httpPort });
  } catch (err) {
    await b.close();
    await database.close();
    throw err;
  }
  const mqttTcpPort = config.mqttTcpPort === null ? null : await b.listenTcp(config.mqttTcpPort, config.httpHost);
  c.jobs.start();
  const grantSweep = startGrantExpirySweep(c);
  const httpPort = (app.server.address() as AddressInfo).port;
  const scheme = config.tls ? 'https' : 'http';
  const host = config.httpHost === '0.0.0.0' || config.httpHost === '::' ? 'localhost' : config.httpHost;
  const url = config.publicUrl ?? `${scheme}://${host}:${httpPort}`;
  c.publicUrl = url;
  c.video.listening(url);
  c.clipsConfigurator.listening(url);
  return {
    httpPort,
    mqttTcpPort,
    url,
    ctx: c,
    async close() {
      await c.jobs.stop();
      await grantSweep.stop();
      await c.ipDomain.stop();
      c.alarms.close();
      c.clipsConfigurator.close();
      c.tunnel.close();
      c.p2p.close();
      c.video.closeAll();
      await b.close();
      await app.close();
      await database.close();
    },
  };
}
