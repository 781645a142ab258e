import { AlarmsConfigureParamsSchema, decoder } from '@vigil/protocol';
import { AlarmRelay, AlarmReports, AlarmStore, ownerSocketPath, RelayOwnership, type AlarmLogReport } from '../alarms/index.js';
import { BusTopic } from '../bus.js';
import { BusClient, busOptionsFromEnv } from '../bus-client.js';
import { ConfigError, EXIT_CONFIG, loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { Sealer } from '../security/sealed.js';

/** Status reports are gathered for this long after a change, so that a burst of events sends one. */
const STATUS_DELAY_MS = 200;
/** How long the relay goes on without its agent, waiting for a new agent's relay to take over. */
const ORPHAN_GRACE_MS = 120_000;
/** After a stop request, the process ends by then even if something hangs. */
const STOP_GRACE_MS = 2_000;
const paramsDecoder = decoder(AlarmsConfigureParamsSchema);

/**
 * The alarm relay worker: receives the panels' DC-09 messages, keeps them on disk and relays them to each
 * panel's ARC receiver. It starts from its own copy of the configuration before the bus is up, so it relays
 * without waiting for the agent; the agent's pushes replace that copy. When its agent dies, it goes on relaying
 * until the relay of the agent's successor takes over (or the grace period ends).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, { proc: 'alarms', pid: process.pid });
  const ownership = await RelayOwnership.acquire(ownerSocketPath(config.dataDir), log);
  const store = await AlarmStore.open(config.dataDir, await Sealer.load({ dataDir: config.dataDir, keyHex: config.secretKey, log }));
  const reports = await AlarmReports.open(config.dataDir);
  const relay = await AlarmRelay.start({ store, log, listen: config.alarmListen });
  log.info('alarm relay started', { listening: relay.listening, revision: relay.revision });
  // Kept on disk from the start, handed to the agent once the bus is up: best effort, never in the relay's way.
  let publishReport: ((id: number, r: AlarmLogReport) => void) | null = null;
  relay.on('report', (r) => {
    reports.add(r).then(
      (id) => publishReport?.(id, r),
      (err: unknown) => log.error('alarm log report not kept', { kind: r.kind, eventId: r.report.eventId, err }),
    );
  });

  let bus: BusClient | null = null;
  let stopped: Promise<void> | null = null;
  let statusTimer: NodeJS.Timeout | null = null;
  let orphanTimer: NodeJS.Timeout | null = null;
  const stop = (reason: string): Promise<void> => {
    stopped ??= (async () => {
      log.info('alarm relay stopping', { reason });
      setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
      if (statusTimer) clearTimeout(statusTimer);
      if (orphanTimer) clearTimeout(orphanTimer);
      bus?.close();
      bus = null;
      try {
        await relay.stop();
        await store.close();
        await reports.close();
      } catch (err) {
        log.error('alarm relay did not stop cleanly', { err });
      }
      ownership.release();
    })();
    return stopped;
  };
  const exitAfter = (reason: string) => (): void => {
    void stop(reason).finally(() => process.exit(0));
  };
  process.once('SIGTERM', exitAfter('SIGTERM'));
  process.once('SIGINT', exitAfter('SIGINT'));
  // The successor starts once this resolves, with everything here closed; this process ends right after.
  ownership.onHandover(() => stop('handed over to a new relay').then(() => void setImmediate(() => process.exit(0))));
  const orphaned = (): void => {
    if (stopped) return;
    log.warn('the agent is gone: relaying on until a new relay takes over', { graceMs: ORPHAN_GRACE_MS });
    bus?.close();
    bus = null;
    orphanTimer = setTimeout(exitAfter('no new relay took over'), ORPHAN_GRACE_MS);
  };
  if (process.connected) process.once('disconnect', orphaned);
  else orphaned();

  const connected = await BusClient.connect({ ...busOptionsFromEnv(), subscriptions: [BusTopic.alarmsCommandPrefix] });
  if (stopped || orphanTimer) {
    connected.close();
    return;
  }
  bus = connected;
  const publish = (topic: string, payload: unknown): void => {
    if (bus === connected) connected.publish(topic, payload).catch((err: unknown) => log.error('bus publish failed', { topic, err }));
  };
  const publishStatus = (): void => {
    if (bus !== connected) return;
    relay.status().then(
      (s) => publish(BusTopic.alarmsStatus, s),
      (err: unknown) => log.error('alarm relay status failed', { err }),
    );
  };
  const publishPendingReports = (): void => {
    if (bus !== connected) return;
    relay.pendingPathReports().then(
      (reports) => {
        for (const r of reports) publish(BusTopic.alarmsPath, r);
      },
      (err: unknown) => log.error('reading path reports failed', { err }),
    );
  };

  relay.on('changed', () => {
    statusTimer ??= setTimeout(() => {
      statusTimer = null;
      publishStatus();
    }, STATUS_DELAY_MS);
  });
  relay.on('path', (id, report) => publish(BusTopic.alarmsPath, { id, report }));
  publishReport = (id, r) => publish(BusTopic.alarmsLog, { id, ...r });
  const publishPendingLog = (): void => {
    reports.pending().then(
      (pending) => {
        for (const p of pending) publishReport?.(p.id, p.report);
      },
      (err: unknown) => log.error('reading alarm log reports failed', { err }),
    );
  };
  relay.on('forward', (forward) => publish(BusTopic.alarmsForward, { forward }));

  // Configurations are applied one after the other, in the order the agent sent them.
  let configChain: Promise<void> = Promise.resolve();
  connected.on('message', (topic, payload) => {
    if (topic === BusTopic.alarmsConfig) {
      const p = payload as { revision?: unknown; params?: unknown };
      const params = paramsDecoder.decode(p.params);
      if (typeof p.revision !== 'number' || !params.ok) {
        log.warn('bus: dropped invalid alarm configuration', { error: params.ok ? 'no revision' : params.error });
        return;
      }
      const revision = p.revision;
      configChain = configChain
        .then(() => relay.configure(revision, params.value))
        .then(() => {
          publish(BusTopic.alarmsApplied, { revision });
          publishStatus();
        })
        .catch((err: unknown) => log.error('applying the alarm configuration failed', { revision, err }));
    } else if (topic === BusTopic.alarmsPathAck) {
      const id = (payload as { id?: unknown }).id;
      if (typeof id === 'number') relay.ackPathReport(id).catch((err: unknown) => log.error('forgetting a path report failed', { id, err }));
    } else if (topic === BusTopic.alarmsLogAck) {
      const id = (payload as { id?: unknown }).id;
      if (typeof id === 'number') reports.remove(id).catch((err: unknown) => log.error('forgetting an alarm log report failed', { id, err }));
    } else if (topic === BusTopic.alarmsStatusRequest) {
      publishStatus();
    } else if (topic === BusTopic.alarmsForwardAck) {
      const { panel, eventId } = payload as { panel?: unknown; eventId?: unknown };
      if (typeof panel === 'string' && typeof eventId === 'number') relay.forwarded(panel, eventId);
    } else if (topic === BusTopic.alarmsDeliveredByServer) {
      const ids = (payload as { eventIds?: unknown }).eventIds;
      if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id))) return;
      const eventIds = ids as number[];
      relay.deliveredByServer(eventIds).then(
        () => publish(BusTopic.alarmsDelivered, { eventIds }),
        (err: unknown) => log.error('marking alarms delivered by the server failed', { err }),
      );
    }
  });
  publishStatus();
  publishPendingReports();
  publishPendingLog();
}

main().catch((err: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'alarm relay worker failed', err: String(err) })}\n`);
  process.exit(err instanceof ConfigError ? EXIT_CONFIG : 1);
});
