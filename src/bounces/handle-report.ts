import { createHash } from 'node:crypto';
import { verifySubscriberToken } from '../domain/tokens.ts';
import { envelopeRecipients, headerMessageId } from './classify/raw-header.ts';
import { parseUnsubscribeAddress } from './unsubscribe-address.ts';
import { ReportRefused, type BounceReport, type ReportKind } from './classify/report-types.ts';
import { ParserCrashed, ParseTimedOut } from './classify/report-parser.ts';
import { isDigestEdition, parseMessageId } from './message-id.ts';
import type { QuarantineStore } from './quarantine-store.ts';
import { applyBounceEvent, type AppliedBounce, type BouncePolicyDeps } from './policy.ts';
import type { BounceKind } from './events-store.ts';
import { looksLikeVerpAddress, parseVerpAddress } from './verp.ts';

/**
 * Where a report came from. `rcptTo` is the SMTP envelope's recipients, when known.
 * `trustAddresses`: the channel vouches for the report (a provider's signed webhook, or an import
 * of an export the operator trusts), so a subscriber may be matched by address or by an unsigned
 * Message-ID. Everywhere else (the receiver and the mailbox, which anyone can mail) only what
 * Paperboy signed names a subscriber.
 */
export interface BounceSource {
  kind: 'import' | 'smtp' | 'imap' | 'webhook';
  name: string;
  rcptTo?: readonly string[];
  trustAddresses?: boolean;
  /** Where a report that cannot be handled ends up: `local` (kept here, the default) or a mailbox folder. */
  quarantineIn?: string;
}

export interface HandleReportDeps extends BouncePolicyDeps {
  parseReport: (raw: Buffer) => Promise<BounceReport>;
  /** BOUNCE_DOMAIN: where our VERP addresses live. */
  bounceDomain: string;
  /** MAIL_FROM's domain: where our Message-IDs live. */
  messageIdDomain: string;
  /** The address a queued transactional message went to (a signed confirmation Message-ID names its row). */
  queuedMailRecipient: (queueId: number) => string | undefined;
  quarantine: Pick<QuarantineStore, 'add'>;
  /** BOUNCE_MAX_BYTES. */
  maxBytes: number;
  /** BOUNCE_FBL_ADDRESS: where feedback loops send complaints; only ARF reports are taken there. */
  fblAddress?: string | undefined;
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
  /** `unsubscribe`: a message to a reader's own unsubscribe address, not a report. */
  kind: ReportKind | 'unsubscribe';
  feedbackType?: string | undefined;
  /** `forged`: sent to an address in our VERP form whose signature does not verify. */
  verp: 'signed' | 'forged' | 'none';
  recipients: HandledRecipient[];
  /** Failed recipients past the cap, not acted on. */
  droppedRecipients?: number;
  /** Set when the report was set aside instead (`fresh` false: it had been before). */
  quarantined?: { reason: string; fresh: boolean };
  /** A message to a reader's unsubscribe address: whom it named, and whether that changed anything. */
  unsubscribed?: { subscriberId: number; changed: boolean };
  /** Why the message is not taken where it was sent (anything but a feedback report to BOUNCE_FBL_ADDRESS). */
  refused?: string;
}

/** Whom a whole report is about, as far as the report proves it. */
export interface Identification {
  /** A subscriber id, null for nobody, or undefined to look each recipient up by address. */
  subscriberId: number | null | undefined;
  by: MatchedBy;
  digestDate?: string | undefined;
  /** True when Paperboy's signature or a vouching channel names the subscriber: only then does a report act. */
  verified: boolean;
  verp: HandledReport['verp'];
}

/**
 * One incoming report, from any way in (the receiver, the mailbox, an import, a webhook's raw
 * message): checked against the size cap, parsed on the parser's thread within its time budget,
 * matched to a subscriber by the trust rule (identify), and each failed recipient put through the
 * policy (applyBounceEvent). A report that is too big, unreadable or too slow to parse is
 * quarantined instead, and the caller goes on with the next one. Handling the same message again
 * changes nothing.
 */
export async function handleReport(deps: HandleReportDeps, raw: Buffer, source: BounceSource): Promise<HandledReport> {
  const sentTo = envelopeRecipients(raw, source.rcptTo);
  const unsubscribed = unsubscribeByMail(deps, sentTo, source);
  if (unsubscribed) return unsubscribed;
  const parsed = await parseWithinCaps(deps, raw, source);
  if ('quarantined' in parsed)
    return { kind: 'unknown', verp: 'none', recipients: [], quarantined: parsed.quarantined };
  const { report, reportKey } = parsed;
  const fbl = deps.fblAddress?.toLowerCase();
  if (fbl && sentTo.length && sentTo.every((a) => a === fbl) && report.kind !== 'arf')
    return { kind: report.kind, verp: 'none', recipients: [], refused: 'only feedback reports (ARF) are taken here' };
  if (report.droppedRecipients)
    deps.logger.warn(
      { source: `${source.kind}:${source.name}`, dropped: report.droppedRecipients, kept: report.recipients.length },
      'bounce report names more recipients than are acted on; the rest are ignored',
    );
  const who = identify(deps, report, source);
  const recipients = report.recipients.map((r): HandledRecipient => {
    const applied = applyBounceEvent(deps, {
      subscriberId: who.subscriberId,
      verified: who.verified,
      recipient: r.address,
      kind: r.decision,
      reason: r.reason,
      status: r.status,
      diagnostic: r.diagnostic,
      source: `${source.kind}:${source.name}`,
      digestDate: who.digestDate,
      reportKey,
    });
    const matchedBy: MatchedBy = applied.subscriber ? (who.subscriberId === undefined ? 'address' : who.by) : null;
    return { address: r.address, decision: r.decision, reason: r.reason, status: r.status, matchedBy, applied };
  });
  return {
    kind: report.kind,
    feedbackType: report.feedbackType,
    verp: who.verp,
    recipients,
    ...(report.droppedRecipients ? { droppedRecipients: report.droppedRecipients } : {}),
  };
}

/**
 * A message whose envelope recipient is a reader's signed unsubscribe address (any subject, any
 * body, any sender) unsubscribes that reader, as the one-click link does. Only the envelope counts:
 * every bounce that quotes a digest carries the address inside.
 */
function unsubscribeByMail(deps: HandleReportDeps, sentTo: string[], source: BounceSource): HandledReport | undefined {
  for (const address of sentTo) {
    const subscriberId = parseUnsubscribeAddress(address, deps.secret, deps.bounceDomain);
    if (subscriberId === null) continue;
    const changed = deps.subscribers.unsubscribe(subscriberId, deps.clock.now().toISOString());
    deps.logger.info(
      { subscriberId, source: `${source.kind}:${source.name}`, changed },
      'unsubscribed by email to the List-Unsubscribe address',
    );
    return { kind: 'unsubscribe', verp: 'none', recipients: [], unsubscribed: { subscriberId, changed } };
  }
  return undefined;
}

type Parsed = { report: BounceReport; reportKey: string } | { quarantined: { reason: string; fresh: boolean } };

/** The parsed report, or the reason it was quarantined. */
async function parseWithinCaps(deps: HandleReportDeps, raw: Buffer, source: BounceSource): Promise<Parsed> {
  const messageId = headerMessageId(raw);
  const reportKey = reportKeyOf(raw, messageId);
  const setAside = (reason: string, keep: boolean): Parsed => ({
    quarantined: quarantineReport(deps, source, { reportKey, size: raw.length, raw: keep ? raw : null, reason }),
  });
  if (raw.length > deps.maxBytes) return setAside(`too big (over BOUNCE_MAX_BYTES, ${deps.maxBytes} bytes)`, false);
  try {
    return { report: await deps.parseReport(raw), reportKey };
  } catch (err) {
    if (err instanceof ReportRefused) return setAside(err.message, true);
    if (err instanceof ParseTimedOut) return setAside('parse timed out', true);
    if (err instanceof ParserCrashed) return setAside(`parser failed: ${err.message}`, true);
    return setAside(`unreadable: ${(err as Error).message}`.slice(0, 300), true);
  }
}

/**
 * Sets a report aside (see QuarantineStore) and logs it once; `fresh` is false when the same
 * report had been set aside before. Its bytes are kept only where it stays here (`local`).
 */
export function quarantineReport(
  deps: Pick<HandleReportDeps, 'quarantine' | 'clock' | 'logger'>,
  source: BounceSource,
  entry: { reportKey: string; size: number; raw: Buffer | null; reason: string },
): { reason: string; fresh: boolean } {
  const location = source.quarantineIn ?? 'local';
  const fresh = deps.quarantine.add({
    ...entry,
    source: `${source.kind}:${source.name}`,
    location,
    raw: location === 'local' ? entry.raw : null,
    createdAt: deps.clock.now().toISOString(),
  });
  deps.logger.warn(
    { source: `${source.kind}:${source.name}`, reason: entry.reason, size: entry.size, location, repeat: !fresh },
    'bounce report quarantined',
  );
  return { reason: entry.reason, fresh };
}

/**
 * The trust rule: a report changes a subscriber only through something Paperboy signed. In order:
 * the signed VERP address (the envelope recipient, a recipient header, or the returned original's
 * Return-Path, which feedback loops keep), the returned original's signed Message-ID, its
 * one-click unsubscribe link. A VERP address in our form that does not verify makes the report
 * about nobody. Failing those, a vouching channel (trustAddresses) may match the old unsigned
 * Message-ID or each recipient's address; anywhere else such a match is only recorded, as unverified.
 */
export function identify(
  deps: Omit<HandleReportDeps, 'parseReport' | 'quarantine' | 'maxBytes'>,
  report: Pick<BounceReport, 'envelopeTo' | 'originalMessageId' | 'originalListUnsubscribe' | 'originalReturnPath'>,
  source: Pick<BounceSource, 'rcptTo' | 'trustAddresses'>,
): Identification {
  const verp = verpIdentity(deps, [
    ...(source.rcptTo ?? []),
    ...report.envelopeTo,
    ...(report.originalReturnPath ? [report.originalReturnPath] : []),
  ]);
  if (verp) return verp;
  const trusted = source.trustAddresses === true;
  const id = report.originalMessageId
    ? parseMessageId(report.originalMessageId, deps.secret, deps.messageIdDomain)
    : undefined;
  if (id?.signed || (id && trusted)) {
    const subscriberId = isDigestEdition(id.edition) ? id.id : queuedMailSubscriber(deps, id.id);
    const digestDate = isDigestEdition(id.edition) ? id.date : undefined;
    return { subscriberId, by: 'message-id', digestDate, verified: id.signed || trusted, verp: 'none' };
  }
  for (const link of report.originalListUnsubscribe ?? []) {
    const token = /\/unsubscribe\/([\w.-]{1,200})/.exec(link)?.[1];
    const subscriberId = token ? verifySubscriberToken(deps.secret, 'unsubscribe', token) : null;
    if (subscriberId !== null) return { subscriberId, by: 'list-unsubscribe', verified: true, verp: 'none' };
  }
  if (id) return { subscriberId: id.id, by: 'message-id', digestDate: id.date, verified: false, verp: 'none' };
  return { subscriberId: undefined, by: 'address', verified: trusted, verp: 'none' };
}

function verpIdentity(deps: Pick<HandleReportDeps, 'secret' | 'bounceDomain'>, addresses: string[]) {
  let forged = false;
  for (const address of addresses) {
    const who = parseVerpAddress(address, deps.secret, deps.bounceDomain);
    if (who)
      return {
        subscriberId: who.subscriberId,
        by: 'verp',
        digestDate: who.runDate,
        verified: true,
        verp: 'signed',
      } as const;
    forged ||= looksLikeVerpAddress(address, deps.bounceDomain);
  }
  return forged ? ({ subscriberId: null, by: 'verp', verified: false, verp: 'forged' } as const) : undefined;
}

/** The subscriber a signed transactional Message-ID names, through its mail queue row; null once that row is gone. */
function queuedMailSubscriber(deps: Pick<HandleReportDeps, 'queuedMailRecipient' | 'subscribers'>, queueId: number) {
  const address = deps.queuedMailRecipient(queueId);
  return (address ? deps.subscribers.byEmail(address)?.id : undefined) ?? null;
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
