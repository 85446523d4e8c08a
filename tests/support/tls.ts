import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway self-signed RSA certificate from openssl, as PEM strings; `san` adds a subjectAltName. */
export function selfSignedCertificate(commonName: string, san?: string): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'paperboy-tls-'));
  try {
    const args = [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ];
    args.push('-days', '2', '-subj', `/CN=${commonName}`, ...(san ? ['-addext', `subjectAltName=${san}`] : []));
    execFileSync('openssl', args, { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
