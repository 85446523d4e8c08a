import type { BounceDecision } from './report-types.ts';

/**
 * One row of the bounce rule table. A row matches when every condition it has matches:
 * `status` against the RFC 3463 enhanced status code ('5.1.1', '' when there is none), `phrase`
 * against the diagnostic text (lower-cased, whitespace collapsed), `command` against the SMTP
 * command the refusal answered. The first matching row decides.
 */
export interface BounceRule {
  reason: string;
  decision: BounceDecision;
  status?: RegExp;
  phrase?: RegExp;
  /** The SMTP command the refusal answered ('RCPT'; '' when unknown), from the format or the text. */
  command?: RegExp;
}

/** Builds one case-insensitive alternation from plain phrases (regex syntax allowed). */
export const any = (...phrases: string[]): RegExp => new RegExp(phrases.join('|'), 'i');
