/**
 * The device password policy (manual §3.1): 8 to 16 characters, with at least two of the kinds upper case
 * letters, lower case letters, digits and special characters. Returns what is wrong, or null when acceptable.
 */
export function devicePasswordProblem(password: string): string | null {
  if (password.length < 8 || password.length > 16) return 'the password must have 8 to 16 characters';
  if (/[^\x20-\x7e]/.test(password)) return 'the password may only hold printable ASCII characters';
  const kinds = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (kinds < 2) return 'the password must mix at least two of upper case, lower case, digits and special characters';
  return null;
}

/** Verification codes (Hik-Connect): 6 to 12 letters or digits. Returns what is wrong, or null. */
export function verificationCodeProblem(code: string): string | null {
  if (!/^[A-Za-z0-9]{6,12}$/.test(code)) return 'the verification code must have 6 to 12 letters or digits';
  return null;
}
