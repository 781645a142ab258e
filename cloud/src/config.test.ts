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
