import { createHash } from 'node:crypto';
import { mailFromDomain } from '../config.ts';
import type { Context } from '../context.ts';
import { verifySubscriberToken } from '../domain/tokens.ts';
import { isCalendarDate } from '../domain/dates.ts';
import type { BounceReport, ReportKind } from './parse-report.ts';
import { applyBounceEvent, type AppliedBounce, type BouncePolicyDeps } from './policy.ts';
import type { BounceKind } from './events-store.ts';
import { looksLikeVerpAddress, parseVerpAddress } from './verp.ts';

/**
 * Where a report came from. `import` (files the operator hands over), `imap` (the operator's
 * bounce mailbox) and `webhook` (a provider's call whose signature verified) are trusted: a report
 * there may be matched by what it says inside. Anything else (an SMTP listener anyone can reach)
 * counts only through a signed VERP address. `rcptTo` is the SMTP envelope's recipients, when known.
 */
export interface BounceSource {
  kind: 'import' | 'smtp' | 'imap' | 'webhook';
  name: string;
  rcptTo?: string[];
}

export interface HandleReportDeps extends BouncePolicyDeps {
  parseReport: (raw: Buffer) => Promise<BounceReport>;
  /** BOUNCE_DOMAIN: where our VERP addresses live. */
  bounceDomain: string;
  /** MAIL_FROM's domain: where our digest Message-IDs live. */
  messageIdDomain: string;
}

/** The intake wired to the application's context; the parser is passed in (the classifier's parseReport). */
export function handleReportDeps(ctx: Context, parseReport: HandleReportDeps['parseReport']): HandleReportDeps {
  const c = ctx.config;
  return {
    bounces: ctx.bounces,
    subscribers: ctx.subscribers,
    suppressions: ctx.suppressions,
    clock: ctx.clock,
    logger: ctx.logger,
    secret: ctx.secret,
    softLimit: c.BOUNCE_SOFT_LIMIT,
    parseReport,
    bounceDomain: c.BOUNCE_DOMAIN,
    messageIdDomain: mailFromDomain(c.MAIL_FROM) ?? c.BOUNCE_DOMAIN,
  };
}

/** How a recipient was tied to a subscriber; null when nothing named one. */
export type MatchedBy = 'verp' | 'message-id' | 'list-unsubscribe' | 'address' | null;

export interface HandledRecipient {
  address: string;
  decision: BounceKind;
  reason: string;
  status?: string | undefined;
  matchedBy: MatchedBy;
  applied: AppliedBounce;
}

export interface HandledReport {
  kind: ReportKind;
  feedbackType?: string | undefined;
  /** `forged`: sent to an address in our VERP form whose signature does not verify. */
  verp: 'signed' | 'forged' | 'none';
  recipients: HandledRecipient[];
}

/** Whom a whole report is about, when the report says so beyond its recipients' addresses. */
export interface ReportTarget {
  subscriberId: number | null;
  by: Exclude<MatchedBy, 'address'>;
  digestDate?: string | undefined;
}

const TRUSTED_SOURCES: ReadonlySet<BounceSource['kind']> = new Set(['import', 'imap', 'webhook']);

/**
 * One incoming report, handled as if it had just arrived: parsed and classified, each failed
 * recipient matched to a subscriber and put through the policy (applyBounceEvent). Handling the
 * same message again changes nothing.
 */
export async function handleReport(deps: HandleReportDeps, raw: Buffer, source: BounceSource): Promise<HandledReport> {
  const report = await deps.parseReport(raw);
  const reportKey = reportKeyOf(raw, report.messageId);
  const { target, verp } = reportTarget(deps, report, source);
  const recipients = report.recipients.map((r): HandledRecipient => {
    const applied = applyBounceEvent(deps, {
      // Without a target, a trusted source's report is matched by the recipient's address.
      subscriberId: target ? target.subscriberId : undefined,
      recipient: r.address,
      kind: r.decision,
      reason: r.reason,
      status: r.status,
      diagnostic: r.diagnostic,
      source: `${source.kind}:${source.name}`,
      digestDate: target?.digestDate,
      reportKey,
    });
    const matchedBy: MatchedBy = target
      ? target.subscriberId === null
        ? null
        : target.by
      : applied.subscriber
        ? 'address'
        : null;
    return { address: r.address, decision: r.decision, reason: r.reason, status: r.status, matchedBy, applied };
  });
  return { kind: report.kind, feedbackType: report.feedbackType, verp, recipients };
}

/**
 * The signed VERP address is authoritative: a report sent to one is about that subscriber and
 * no one else, whatever it names inside, and one sent to a forged one is about nobody. Without
 * one, only trusted sources look further: the returned original's Message-ID, then
 * its List-Unsubscribe link; failing those (target undefined), each recipient's address.
 */
export function reportTarget(
  deps: Omit<HandleReportDeps, 'parseReport'>,
  report: Pick<BounceReport, 'envelopeTo' | 'originalMessageId' | 'originalListUnsubscribe'>,
  source: BounceSource,
): { target: ReportTarget | undefined; verp: HandledReport['verp'] } {
  let forged = false;
  for (const address of [...(source.rcptTo ?? []), ...report.envelopeTo]) {
    const who = parseVerpAddress(address, deps.secret, deps.bounceDomain);
    if (who) return { target: { subscriberId: who.subscriberId, by: 'verp', digestDate: who.runDate }, verp: 'signed' };
    forged ||= looksLikeVerpAddress(address, deps.bounceDomain);
  }
  if (forged) return { target: { subscriberId: null, by: 'verp' }, verp: 'forged' };
  if (!TRUSTED_SOURCES.has(source.kind)) return { target: { subscriberId: null, by: null }, verp: 'none' };
  const digest = report.originalMessageId
    ? parseDigestMessageId(report.originalMessageId, deps.messageIdDomain)
    : undefined;
  if (digest)
    return { target: { subscriberId: digest.subscriberId, by: 'message-id', digestDate: digest.date }, verp: 'none' };
  for (const link of report.originalListUnsubscribe ?? []) {
    const token = /\/unsubscribe\/([\w.-]+)/.exec(link)?.[1];
    const id = token ? verifySubscriberToken(deps.secret, 'unsubscribe', token) : null;
    if (id !== null) return { target: { subscriberId: id, by: 'list-unsubscribe' }, verp: 'none' };
  }
  return { target: undefined, verp: 'none' };
}

/**
 * The subscriber and digest of a Message-ID the digest sender built
 * (`digest.<date>.<subscriber>@<domain>`, or `weekly.<date>.…` for a weekly edition;
 * digestMessageId in src/digest/send-loop.ts).
 */
export function parseDigestMessageId(
  messageId: string,
  domain: string,
): { date: string; subscriberId: number } | undefined {
  const m = /^<?(?:digest|weekly)\.(\d{4}-\d{2}-\d{2})\.(\d{1,15})@([^>\s]+)>?$/i.exec(messageId.trim());
  if (!m || m[3]!.toLowerCase() !== domain.toLowerCase() || !isCalendarDate(m[1]!)) return undefined;
  return { date: m[1]!, subscriberId: Number(m[2]) };
}

/**
 * A report's identity across readings: its Message-ID and its body. Headers are left out because
 * each way of receiving it (a mailbox, an mbox export, a forward to a file) adds its own
 * (Return-Path, Delivered-To, Received); Message-IDs alone are not enough either, since some mail
 * systems reuse them. Line ends are normalised: an mbox stores LF, SMTP carries CRLF.
 */
export function reportKeyOf(raw: Buffer, messageId: string | undefined): string {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  const ends = [crlf, lf].filter((i) => i >= 0);
  const body = ends.length ? raw.subarray(Math.min(...ends)) : raw;
  const text = body.toString('latin1').replace(/\r\n/g, '\n').replace(/^\n+/, '');
  return createHash('sha256')
    .update(`${(messageId ?? '').trim().toLowerCase()}\n`)
    .update(text, 'latin1')
    .digest('hex');
}
