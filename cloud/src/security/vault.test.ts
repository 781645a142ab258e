import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { openVault, SECRET_KEY_FILE, Vault } from './vault.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'vigil-vault-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('the vault (secrets at rest)', () => {
  it('seals with AES-256-GCM: the clear text never shows, each sealing differs, and it opens again', () => {
    const vault = new Vault(Buffer.alloc(32, 7));
    const a = vault.seal('Install-2026', 'row-1');
    const b = vault.seal('Install-2026', 'row-1');
    expect(a).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(a).not.toContain('Install');
    expect(a).not.toBe(b);
    expect(vault.open(a, 'row-1')).toBe('Install-2026');
    expect(vault.open(vault.seal(''))).toBe('');
  });

  it('refuses a value altered, sealed for another context, or under another key', () => {
    const vault = new Vault(Buffer.alloc(32, 7));
    const sealed = vault.seal('Install-2026', 'row-1');
    expect(() => vault.open(sealed, 'row-2')).toThrow(/does not open/);
    expect(() => new Vault(Buffer.alloc(32, 8)).open(sealed, 'row-1')).toThrow(/does not open/);
    const parts = sealed.split('.');
    const data = Buffer.from(parts[3]!, 'base64url');
    data[0] = data[0]! ^ 1;
    expect(() => vault.open([parts[0], parts[1], parts[2], data.toString('base64url')].join('.'), 'row-1')).toThrow(/does not open/);
    expect(() => vault.open('Install-2026')).toThrow(/not a sealed value/);
    expect(() => new Vault(Buffer.alloc(16))).toThrow(/32 bytes/);
  });

  it('generates a key file once (owner-only) and reuses it; a configured key wins', () => {
    const dir = tempDir();
    const first = openVault(null, dir);
    const path = join(dir, SECRET_KEY_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const key = readFileSync(path, 'utf8');
    expect(key.trim()).toMatch(/^[0-9a-f]{64}$/);
    const sealed = first.seal('Install-2026');
    expect(openVault(null, dir).open(sealed)).toBe('Install-2026');
    expect(readFileSync(path, 'utf8')).toBe(key);

    const configured = Buffer.alloc(32, 9);
    expect(openVault(configured, dir).open(new Vault(configured).seal('x'))).toBe('x');
    expect(() => openVault(configured, dir).open(sealed)).toThrow();
  });

  it('refuses a damaged key file rather than replacing it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, SECRET_KEY_FILE), 'not a key\n');
    expect(() => openVault(null, dir)).toThrow(/64 hexadecimal/);
    expect(readFileSync(join(dir, SECRET_KEY_FILE), 'utf8')).toBe('not a key\n');
  });

  it('reads VIGIL_SECRET_KEY and lists a malformed one without echoing it', () => {
    const hex = 'ab'.repeat(32);
    expect(loadConfig({ VIGIL_SECRET_KEY: hex }).secretKey).toEqual(Buffer.from(hex, 'hex'));
    expect(loadConfig({}).secretKey).toBeNull();
    for (const bad of ['abc', 'zz'.repeat(32), 'ab'.repeat(33)]) {
      let error: unknown;
      try {
        loadConfig({ VIGIL_SECRET_KEY: bad, VIGIL_HTTP_PORT: '99999' });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      expect(problems.some((p) => p.startsWith('VIGIL_SECRET_KEY'))).toBe(true);
      expect(problems.some((p) => p.startsWith('VIGIL_HTTP_PORT'))).toBe(true);
      expect(problems.join('\n')).not.toContain(bad);
    }
  });
});
