/**
 * The CRC of a DC-09 frame: CRC-16/ARC (polynomial 0x8005 reflected, i.e. 0xA001; initial value 0; no final
 * XOR), the same CRC as SIA DC-07. Its catalogue check value, the CRC of the ASCII text "123456789", is 0xBB3D.
 */

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-16/ARC of bytes; a string is read one character per byte (latin1), as frames are parsed here. */
export function crc16Arc(input: Uint8Array | string): number {
  let crc = 0;
  const n = input.length;
  for (let i = 0; i < n; i++) {
    const byte = typeof input === 'string' ? input.charCodeAt(i) & 0xff : input[i]!;
    crc = (crc >>> 8) ^ TABLE[(crc ^ byte) & 0xff]!;
  }
  return crc;
}

/** The four upper-case hex characters a frame carries for a CRC. */
export const crcHex = (crc: number): string => crc.toString(16).toUpperCase().padStart(4, '0');
