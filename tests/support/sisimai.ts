import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';
import type { BounceDecision } from '../../src/bounces/classify/report-types.ts';

/**
 * Sisimai (Debian's libsisimai-perl, 4.25), the reference bounce classifier: for tests only,
 * never at run time. One perl process reads every file given and prints one JSON object keyed by
 * file name, each value Sisimai's own dump (one object per recipient).
 */
export interface SisimaiRecipient {
  recipient: string;
  reason: string;
  deliverystatus: string;
  action: string;
  softbounce: number;
  feedbacktype: string;
}

/** Why Sisimai cannot run here, or null when it can. */
export function sisimaiUnavailable(): string | null {
  try {
    execFileSync('perl', ['-MSisimai', '-e', '1'], { stdio: 'pipe' });
    return null;
  } catch {
    return "perl cannot load Sisimai: install Debian's libsisimai-perl (.ci/run does)";
  }
}

const DUMP_ALL = `
my @out;
for my $f (@ARGV) {
  my $j = Sisimai->dump($f);
  $j = '[]' unless defined $j && length $j;
  (my $k = $f) =~ s{.*/}{};
  $k =~ s/(["\\\\])/\\\\$1/g;
  push @out, qq("$k":$j);
}
print '{', join(',', @out), '}';
`;

/** Sisimai's verdicts on each file (absolute paths), keyed by file name. */
export function sisimaiVerdicts(paths: string[]): Record<string, SisimaiRecipient[]> {
  const json = execFileSync('perl', ['-MSisimai', '-e', DUMP_ALL, ...paths], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const all = JSON.parse(json) as Record<string, SisimaiRecipient[]>;
  for (const path of paths) all[basename(path)] ??= [];
  return all;
}

/** What a newsletter does about a failure, in the families two classifiers can agree on. */
export type Family = 'hard' | 'keep' | 'complaint' | 'ignore';

/**
 * Sisimai's reason read with the corpus README's policy: an address that cannot receive mail is
 * hard; a feedback report a complaint (an auth-failure one is about the sender: ignore); an
 * auto-reply ignored; everything else (a full or suspended mailbox, a refusal about the sender,
 * a delay) keeps the reader.
 */
export function sisimaiFamily(r: SisimaiRecipient): Family {
  if (['userunknown', 'hostunknown', 'hasmoved'].includes(r.reason)) return 'hard';
  if (r.reason === 'notaccept') return r.softbounce === 0 ? 'hard' : 'keep';
  if (r.reason === 'feedback') return /^(auth-failure|not-spam)$/i.test(r.feedbacktype) ? 'ignore' : 'complaint';
  if (r.reason === 'vacation') return 'ignore';
  return 'keep';
}

/** Our decision in the same families: a refusal about the sender and a delay keep the reader. */
export function ourFamily(decision: BounceDecision): Family {
  return decision === 'soft' || decision === 'sender' || decision === 'delayed' ? 'keep' : decision;
}
