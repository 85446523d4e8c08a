export interface DkimKeys {
  domainName: string;
  /** Selector of the RSA key. */
  keySelector: string;
  /** PEM. */
  privateKey: string;
  /** An optional second, Ed25519 signature (RFC 8463), under its own selector. */
  ed25519?: { keySelector: string; privateKey: string } | undefined;
}

/**
 * Returns the DKIM-Signature header(s), CRLF-terminated, to put in front of the message; `signedAt` (seconds since
 * the epoch) is its t=, and x= is seven days later.
 */
export function dkimSigner(keys: DkimKeys): (message: Buffer, signedAt: number) => string;
