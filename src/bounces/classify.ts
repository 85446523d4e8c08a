import { BOUNCE_RULES, type BounceRule } from './rules.ts';
import type { FailureDecision, FailureInput } from './report-types.ts';

// An RFC 3463 code, not the tail of an IP address or a version number.
const STATUS_IN_TEXT = /(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)/;

/** The most telling RFC 3463 code: a detailed one from the text beats a bare 'x.0.0' field. */
export function pickStatus(status: string | undefined, diagnostic: string | undefined): string | undefined {
  const given = status?.match(STATUS_IN_TEXT)?.[0];
  const inText = diagnostic?.match(STATUS_IN_TEXT)?.[0];
  if (given && !/\.0\.0$/.test(given)) return given;
  return inText ?? given;
}

/** The first row of the rule table that fits; a row without `phrase` means the words said nothing known. */
export function findRule(input: FailureInput): BounceRule {
  const status = pickStatus(input.status, input.diagnostic);
  const text = (input.diagnostic ?? '').replace(/\s+/g, ' ').toLowerCase();
  const rule = BOUNCE_RULES.find((r) => (!r.status || r.status.test(status ?? '')) && (!r.phrase || r.phrase.test(text)) && (!r.context || r.context.test(text)));
  // The table ends with a catch-all row, so this only guards an edited table.
  return rule ?? { reason: 'undetermined', decision: 'soft' };
}

/**
 * One decision for one failed recipient, from its status code and the server's words.
 * Pure and MIME-free so a provider webhook (which gives only these fields) reuses it.
 */
export function classifyFailure(input: FailureInput): FailureDecision {
  if (input.action && /^\s*(delayed|relayed|delivered|expanded)\b/i.test(input.action)) {
    // RFC 3464 §2.3.3: only 'failed' is final; a delay says nothing lasting about the address.
    return { decision: 'soft', reason: 'delayed' };
  }
  const { decision, reason } = findRule(input);
  return { decision, reason };
}
