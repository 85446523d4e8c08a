import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from './logger.ts';

/**
 * SECRET signs unsubscribe and preference links, so it must outlive restarts: without one in the
 * environment, one is generated once and kept beside the database.
 */
export function resolveSecret(configured: string | undefined, databasePath: string, logger: Logger): string {
  if (configured) return configured;
  const file = join(databasePath === ':memory:' ? '.' : dirname(databasePath), 'secret');
  if (existsSync(file)) {
    logger.warn({ file }, 'SECRET is not set: using the one generated earlier; set SECRET to manage it yourself');
    return readFileSync(file, 'utf8').trim();
  }
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  logger.warn({ file }, 'SECRET is not set: generated one and saved it; keep this file with the database');
  return secret;
}
