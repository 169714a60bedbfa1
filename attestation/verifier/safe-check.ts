/** Runs a cryptographic check; a throw (bad key, bad encoding) counts as a failed check. */
export function passes(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}
