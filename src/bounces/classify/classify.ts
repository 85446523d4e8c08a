import type { BounceRule } from './bounce-rule.ts';
import { BOUNCE_RULES } from './rules.ts';
import type { BounceDecision, FailureDecision, FailureInput } from './report-types.ts';

// An RFC 3463 code, not the tail of an IP address or a version number.
const STATUS_IN_TEXT = /(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)/;

/** The most telling RFC 3463 code: a detailed one from the text beats a bare 'x.0.0' field. */
export function pickStatus(status: string | undefined, diagnostic: string | undefined): string | undefined {
  const given = status?.match(STATUS_IN_TEXT)?.[0];
  const inText = diagnostic?.match(STATUS_IN_TEXT)?.[0];
  if (given && !/\.0\.0$/.test(given)) return given;
  return inText ?? given;
}

// The SMTP stage of the refusal, as MTAs quote it ("after RCPT TO:<…>", "in reply to RCPT TO command").
const AT_RCPT = /rcpt|recipient address rejected|recipient rejected/i;

/** The SMTP command a refusal answered, as an MTA states it ("in reply to RCPT TO command", "after end of data"). */
export function commandOf(text: string): string | undefined {
  const m = /\b(?:in reply to|after)\s+(?:the\s+)?(rcpt|mail|data|end of data|helo|ehlo)\b/i.exec(
    text.replace(/\s+/g, ' '),
  );
  return m ? m[1]!.toUpperCase().replace('END OF DATA', 'DATA') : undefined;
}

/** The first row of a rule table that fits, if any. */
export function matchRule(input: FailureInput, table: readonly BounceRule[]): BounceRule | undefined {
  const status = pickStatus(input.status, input.diagnostic);
  const text = (input.diagnostic ?? '').replace(/\s+/g, ' ').toLowerCase();
  const command = input.command?.toUpperCase() ?? (AT_RCPT.test(text) ? 'RCPT' : '');
  return table.find(
    (r) =>
      (!r.status || r.status.test(status ?? '')) &&
      (!r.phrase || r.phrase.test(text)) &&
      (!r.command || r.command.test(command)),
  );
}

/** The first row of the rule table that fits; a row without `phrase` means the words said nothing known. */
export function findRule(input: FailureInput): BounceRule {
  // The table ends with a catch-all row, so the fallback only guards an edited table.
  return matchRule(input, BOUNCE_RULES) ?? { reason: 'undetermined', decision: 'soft' };
}

/**
 * One decision for one failed recipient, from its status code and the server's words.
 * Pure and MIME-free so a provider webhook (which gives only these fields) reuses it;
 * `formatRules` are the phrase table of the report's format, when it was recognised.
 */
export function classifyFailure(input: FailureInput, formatRules: readonly BounceRule[] = []): FailureDecision {
  const action = input.action && /^\s*(delayed|relayed|delivered|expanded)\b/i.exec(input.action);
  if (action) {
    // RFC 3464 §2.3.3: only 'failed' is final; a delay says nothing lasting about the address.
    return { decision: 'delayed', reason: action[1]!.toLowerCase() };
  }
  // A mail system's own wording (see formats.ts) says more than the general table can.
  const { decision, reason } = matchRule(input, formatRules) ?? findRule(input);
  return { decision, reason };
}

/**
 * The decision for a failure a provider's webhook reports: `said` is the provider's own verdict
 * (`hard`: the address is bad, `soft`: a passing failure), undefined when it gives none. A refusal
 * the server's words put on the sender, or a delay, is that whatever the provider calls it (some
 * call every 5xx permanent, spam blocks included); otherwise the provider's verdict stands.
 */
export function providerDecision(said: 'hard' | 'soft' | undefined, classified: FailureDecision): BounceDecision {
  if (classified.decision === 'sender' || classified.decision === 'delayed') return classified.decision;
  return said ?? classified.decision;
}

/**
 * The relay's reply refusing one recipient during our own send (at RCPT TO, or after DATA), read
 * as a report's Diagnostic-Code would be: one rule for every way in. `command` is the client's
 * (`RCPT TO`, `DATA`).
 */
export function classifyRelayReply(reply: string, command: string | undefined): FailureDecision & { status?: string } {
  const stage = /^RCPT\b/i.test(command ?? '') ? 'RCPT' : /^DATA\b/i.test(command ?? '') ? 'DATA' : undefined;
  const status = pickStatus(undefined, reply);
  const judged = classifyFailure({
    diagnostic: reply,
    ...(status ? { status } : {}),
    ...(stage ? { command: stage } : {}),
  });
  return { ...judged, ...(status ? { status } : {}) };
}
