import type { Logger } from '../logger.ts';
import type { Cadence } from '../model/cadence.ts';
import type { CompiledDigest, DigestContent } from '../mail/templates.ts';
import type { SendRun } from './ledger-records.ts';
import type { SendCounts, SendLoopDeps } from './send-loop.ts';
import type { RankingDeps } from './variants.ts';

// What a digest send needs and what it answers, shared by the send (run.ts) and the dry run
// (preview.ts) it hands over to.

export interface SendDigestDeps extends SendLoopDeps, RankingDeps {
  logger: Logger;
  /** One digest compiled directly: previews and test copies. */
  compileDigest(d: DigestContent): Promise<CompiledDigest>;
}

export type SendOutcome =
  | 'done' // everyone settled
  | 'empty' // no papers that day (final: a weekend, or a weekday long over): no email
  | 'incomplete' // stopped early (limit or signal); resume by running again
  | 'paused' // policy rejection or error budget: needs a look, then send-now resumes it
  | 'failed' // source or SMTP server down, or a weekday's list still empty: the next attempt resumes it
  | 'busy' // another sender holds the run
  | 'dry-run';

export interface SendDigestResult {
  outcome: SendOutcome;
  date: string;
  cadence: Cadence;
  /** Why it stopped, for paused/failed/busy. */
  reason?: string;
  /** This invocation's counts. */
  sent: number;
  failed: number;
  skipped: number;
  deferred: number;
  /** Deliveries re-opened because a previous sender died with them in flight. */
  resumedInFlight: number;
  /** This invocation's final refusals about the sender, per receiving domain and reason. */
  senderRefusals?: SendCounts['senderRefusals'];
  /** Domains backed off in this invocation (too many refusals in a row), their deliveries left for the next attempt. */
  backedOff?: SendCounts['backedOff'];
  /** The run's totals after this invocation. */
  run?: Pick<SendRun, 'status' | 'sent' | 'failed' | 'skipped' | 'startedAt'>;
  /** Dry run: who would get it, per variant. */
  recipients?: number;
  variants?: { digestSize: number; keywords: string; papers: number; recipients: number }[];
  durationMs: number;
}
