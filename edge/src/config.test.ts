import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, EXIT_CONFIG, loadConfig } from './config.js';

const good = {
  VIGIL_EDGE_SERIAL: 'EDGE-0001',
  VIGIL_EDGE_VERIFICATION_CODE: 'ABCdef12',
  VIGIL_CLOUD_URL: 'https://cloud.example:8443',
};

describe('loadConfig', () => {
  it('derives the WebSocket MQTT URL and applies defaults', () => {
    const c = loadConfig({ ...good, VIGIL_EDGE_PROBE_TARGETS: '127.0.0.1:3702, cam.local:8000' });
    expect(c.mqttUrl).toBe('wss://cloud.example:8443/mqtt');
    expect(c.probeTargets).toEqual([
      { host: '127.0.0.1', port: 3702 },
      { host: 'cam.local', port: 8000 },
    ]);
    expect(c.deviceUser).toBe('admin');
    expect(c.devicePassword).toBe('');
    expect(c.heartbeatSec).toBe(30);
    expect(c.discoveryIntervalMs).toBe(10_000);
    expect(c.dataDir).toBe(path.resolve('.vigil/edge'));
    expect(loadConfig({ ...good, VIGIL_CLOUD_URL: 'http://127.0.0.1:8080' }).mqttUrl).toBe('ws://127.0.0.1:8080/mqtt');
  });

  it('reads the LAN discovery settings', () => {
    const off = loadConfig(good);
    expect(off).toMatchObject({ lanInterfaceIp: '', sadpTargets: [], lanIntervalMs: 5_000 });
    const on = loadConfig({
      ...good,
      VIGIL_EDGE_LAN_INTERFACE_IP: '192.168.1.10',
      VIGIL_EDGE_SADP_TARGETS: '127.0.0.1:37020,cam.local:37021',
      VIGIL_EDGE_LAN_INTERVAL_MS: '250',
    });
    expect(on).toMatchObject({
      lanInterfaceIp: '192.168.1.10',
      sadpTargets: [
        { host: '127.0.0.1', port: 37020 },
        { host: 'cam.local', port: 37021 },
      ],
      lanIntervalMs: 250,
    });
    let err: unknown;
    try {
      loadConfig({ ...good, VIGIL_EDGE_LAN_INTERFACE_IP: 'eth0', VIGIL_EDGE_SADP_TARGETS: 'x', VIGIL_EDGE_LAN_INTERVAL_MS: '1' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).problems.map((p) => p.split(':')[0])).toEqual([
      'VIGIL_EDGE_LAN_INTERFACE_IP',
      'VIGIL_EDGE_SADP_TARGETS',
      'VIGIL_EDGE_LAN_INTERVAL_MS',
    ]);
  });

  it('reads the media settings', () => {
    expect(loadConfig(good)).toMatchObject({ ffmpegPath: 'ffmpeg', mediaMaxStreams: 32 });
    expect(loadConfig({ ...good, VIGIL_FFMPEG: '/opt/ffmpeg/bin/ffmpeg', VIGIL_EDGE_MEDIA_MAX_STREAMS: '4' })).toMatchObject({
      ffmpegPath: '/opt/ffmpeg/bin/ffmpeg',
      mediaMaxStreams: 4,
    });
    expect(() => loadConfig({ ...good, VIGIL_EDGE_MEDIA_MAX_STREAMS: '0' })).toThrow(/VIGIL_EDGE_MEDIA_MAX_STREAMS/);
    expect(loadConfig(good).clipQuotaBytes).toBe(2048 * 1024 * 1024);
    expect(loadConfig({ ...good, VIGIL_EDGE_CLIP_QUOTA_MB: '64' }).clipQuotaBytes).toBe(64 * 1024 * 1024);
    expect(() => loadConfig({ ...good, VIGIL_EDGE_CLIP_QUOTA_MB: '1' })).toThrow(/VIGIL_EDGE_CLIP_QUOTA_MB/);
  });

  it('accepts an empty probe target list', () => {
    expect(loadConfig({ ...good, VIGIL_EDGE_PROBE_TARGETS: '' }).probeTargets).toEqual([]);
  });

  it('lists every problem in one error', () => {
    let err: unknown;
    try {
      loadConfig({
        VIGIL_EDGE_SERIAL: 'a/b',
        VIGIL_EDGE_VERIFICATION_CODE: 'abc',
        VIGIL_CLOUD_URL: 'mqtt://x:1883',
        VIGIL_EDGE_PROBE_TARGETS: 'nohost,1.2.3.4:99999',
        VIGIL_EDGE_HEARTBEAT_SEC: '0',
        VIGIL_EDGE_DISCOVERY_INTERVAL_MS: 'fast',
        VIGIL_LOG_LEVEL: 'loud',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const keys = (err as ConfigError).problems.map((p) => p.split(':')[0]);
    expect(keys).toEqual([
      'VIGIL_EDGE_SERIAL',
      'VIGIL_EDGE_VERIFICATION_CODE',
      'VIGIL_CLOUD_URL',
      'VIGIL_EDGE_PROBE_TARGETS',
      'VIGIL_EDGE_PROBE_TARGETS',
      'VIGIL_EDGE_HEARTBEAT_SEC',
      'VIGIL_EDGE_DISCOVERY_INTERVAL_MS',
      'VIGIL_LOG_LEVEL',
    ]);
  });

  it('makes the supervisor exit with 78 and no restart on a bad configuration', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', main], {
      env: { PATH: process.env.PATH ?? '', VIGIL_EDGE_SERIAL: 'x' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(EXIT_CONFIG);
    expect(stdout).toBe('');
    expect(stderr).toContain('VIGIL_EDGE_VERIFICATION_CODE');
    expect(stderr).toContain('VIGIL_CLOUD_URL');
  });
});
