import { describe, expect, it } from 'vitest';
import { resolveDeviceAddress } from './address.js';

const refusal = (address: string) => resolveDeviceAddress(address, false).then(() => 'allowed', (e: { code?: string }) => e.code);

describe('the addresses a device added by IP/domain may have', () => {
  it('refuses loopback, private, link-local and other non-public addresses, however written', async () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.9.9', '192.168.1.64', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '[::1]', 'fd00::5', 'fe80::1', '::ffff:127.0.0.1', '224.0.0.251']) {
      expect(await refusal(a), a).toBe('ADDRESS_NOT_ALLOWED');
    }
    // A name is judged by what it resolves to.
    expect(await refusal('localhost')).toBe('ADDRESS_NOT_ALLOWED');
  });

  it('accepts public addresses, and private ones when allowed', async () => {
    expect(await resolveDeviceAddress('203.0.113.7', false)).toBe('203.0.113.7');
    expect(await resolveDeviceAddress('[2001:db8::7]', false)).toBe('2001:db8::7');
    expect(await resolveDeviceAddress('127.0.0.1', true)).toBe('127.0.0.1');
  });

  it('refuses what is neither an address nor a domain name', async () => {
    for (const a of ['http://10.0.0.1', 'cam era.example', 'a/b', '-bad.example']) expect(await refusal(a), a).toBe('VALIDATION_FAILED');
  });
});
