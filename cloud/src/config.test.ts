import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('cloud configuration', () => {
  it('has working defaults: PGlite in a data folder, HTTP on 8080, no plain MQTT port', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ httpHost: '127.0.0.1', httpPort: 8080, databaseUrl: null, mqttTcpPort: null, minOfflineDelaySec: 300 });
  });

  it('lists every bad key in one error', () => {
    let error: unknown;
    try {
      loadConfig({
        VIGIL_HTTP_PORT: '80000',
        DATABASE_URL: 'mysql://db',
        VIGIL_TLS_CERT: '/nowhere.pem',
        VIGIL_LOG_LEVEL: 'loud',
        VIGIL_MIN_OFFLINE_DELAY_SEC: '0',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const key of ['VIGIL_HTTP_PORT', 'DATABASE_URL', 'VIGIL_TLS_CERT', 'VIGIL_LOG_LEVEL', 'VIGIL_MIN_OFFLINE_DELAY_SEC']) {
      expect(problems).toContain(key);
    }
  });
});

describe('clip storage configuration', () => {
  it('takes an S3-compatible bucket with all of its settings or none, and a retention interval', () => {
    const full = { VIGIL_CLIP_S3_ENDPOINT: 'http://127.0.0.1:9000/', VIGIL_CLIP_S3_BUCKET: 'clips', VIGIL_CLIP_S3_ACCESS_KEY: 'a', VIGIL_CLIP_S3_SECRET_KEY: 'b' };
    expect(loadConfig({}).clipS3).toBeNull();
    expect(loadConfig(full).clipS3).toEqual({ endpoint: 'http://127.0.0.1:9000', bucket: 'clips', accessKey: 'a', secretKey: 'b', region: 'us-east-1' });
    expect(loadConfig({ ...full, VIGIL_CLIP_S3_REGION: 'eu-west-2' }).clipS3?.region).toBe('eu-west-2');
    expect(loadConfig({}).clipRetentionIntervalMs).toBe(10 * 60 * 1000);
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return '';
      } catch (err) {
        return (err as ConfigError).problems.join('\n');
      }
    };
    expect(problems({ VIGIL_CLIP_S3_BUCKET: 'clips' })).toMatch(/VIGIL_CLIP_S3_ENDPOINT, VIGIL_CLIP_S3_ACCESS_KEY, VIGIL_CLIP_S3_SECRET_KEY: the clip bucket needs all/);
    expect(problems({ VIGIL_CLIP_S3_REGION: 'eu-west-2' })).toMatch(/the clip bucket needs all/);
    expect(problems({ ...full, VIGIL_CLIP_S3_ENDPOINT: 'ftp://x' })).toMatch(/VIGIL_CLIP_S3_ENDPOINT: expected an http/);
    expect(problems({ ...full, VIGIL_CLIP_S3_BUCKET: 'No_Such' })).toMatch(/VIGIL_CLIP_S3_BUCKET/);
    expect(problems({ VIGIL_CLIP_RETENTION_INTERVAL_MS: '0' })).toMatch(/VIGIL_CLIP_RETENTION_INTERVAL_MS/);
  });
});
