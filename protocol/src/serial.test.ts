import { describe, expect, it } from 'vitest';
import { shortSerial } from './serial.js';

describe('short serial (manual §3.1.4)', () => {
  it("derives the manual's two examples", () => {
    expect(shortSerial('DS-1ABCD2EFGH3IJKLMNOPQRSTUVWXYZZ123T45R6')).toBe('Z123T45R6');
    expect(shortSerial('DS-2ABCD2EFGHIJKLMNOPQRST123T45R6UVWXYZ')).toBe('T123T45R6');
  });
  it('keeps a serial of 9 characters or fewer as it is', () => {
    expect(shortSerial('Z123T45R6')).toBe('Z123T45R6');
    expect(shortSerial('ABC123')).toBe('ABC123');
  });
  it('has no short form without enough characters before the last digit', () => {
    expect(shortSerial('ABCDEFGHIJKLMN')).toBeNull();
    expect(shortSerial('1ABCDEFGHIJKLMN')).toBeNull();
  });
});
