/** Serial numbers of length up to this are "short" already. */
export const SHORT_SERIAL_LENGTH = 9;

/**
 * The manual's short-serial rule (§3.1.4): from a long serial, the 9 characters ending at its last digit
 * (scanning from the end). A serial of 9 characters or fewer is returned unchanged; a long one with no
 * digit, or too few characters before its last digit, has no short form (null).
 */
export function shortSerial(serial: string): string | null {
  const s = serial.trim();
  if (s.length <= SHORT_SERIAL_LENGTH) return s;
  let end = s.length - 1;
  while (end >= 0 && !/[0-9]/.test(s[end]!)) end--;
  if (end < SHORT_SERIAL_LENGTH - 1) return null;
  return s.slice(end - SHORT_SERIAL_LENGTH + 1, end + 1);
}
