import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Deletes every outbox file (transport.ts writes one .eml per message) that names the address, in
 * its file name or anywhere in its bytes, and returns how many. Files are read rather than matched
 * by name: the name carries only the first recipient, and in a mangled form.
 */
export function eraseFromOutbox(outboxDir: string, email: string): number {
  if (!existsSync(outboxDir)) return 0;
  const needle = email.toLowerCase();
  let erased = 0;
  for (const name of readdirSync(outboxDir)) {
    if (!name.endsWith('.eml')) continue;
    const file = join(outboxDir, name);
    // latin1: one character per byte, so the search is exact whatever the message's encoding.
    if (!readFileSync(file).toString('latin1').toLowerCase().includes(needle)) continue;
    rmSync(file, { force: true });
    erased++;
  }
  return erased;
}
