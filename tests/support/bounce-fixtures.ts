import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BounceDecision } from '../../src/bounces/classify/report-types.ts';

/**
 * The real bounce, complaint and auto-reply messages carried in the repository (a subset of the
 * public sisimai/set-of-emails corpus: tests/fixtures/bounces/README.md and LICENSE), with the
 * decision a newsletter should take for each failed recipient.
 */
export const BOUNCE_FIXTURES = fileURLToPath(new URL('../fixtures/bounces/', import.meta.url));
export const BOUNCE_MAIL = fileURLToPath(new URL('../fixtures/bounces/mail/', import.meta.url));

export interface ExpectedRecipient {
  recipient: string;
  decision: BounceDecision;
  reason: string;
  status?: string;
}

/** expected.json: file name → the failed recipients and their decisions. */
export const expectedDecisions = (): Record<string, ExpectedRecipient[]> =>
  JSON.parse(readFileSync(`${BOUNCE_FIXTURES}expected.json`, 'utf8')) as Record<string, ExpectedRecipient[]>;

/** The .eml files, sorted. */
export const bounceMailFiles = (): string[] =>
  readdirSync(BOUNCE_MAIL)
    .filter((f) => f.endsWith('.eml'))
    .sort();

export const bounceMail = (file: string): Buffer => readFileSync(`${BOUNCE_MAIL}${file}`);
