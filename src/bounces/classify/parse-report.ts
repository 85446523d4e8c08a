import { simpleParser, type Attachment, type ParsedMail } from 'mailparser';
import { classifyFailure, commandOf, findRule, matchRule, pickStatus } from './classify.ts';
import { detectFormat, type ReportFormat } from './formats.ts';
import { decodeUnlabelled } from './charsets.ts';
import { sesReport } from './ses-report.ts';
import {
  FAILURE_TEXT_LIMIT,
  findAddresses,
  ReportLines,
  scrapeFailures,
  splitReturnedOriginal,
  textAbout,
  type ScrapedFailure,
} from './text-report.ts';
import { ReportRefused, type BounceReport, type FailedRecipient } from './report-types.ts';
import type { BounceRule } from './bounce-rule.ts';

export type { BounceReport, FailedRecipient } from './report-types.ts';
export { ReportRefused } from './report-types.ts';
export { classifyFailure } from './classify.ts';

type Fields = Map<string, string[]>;

/** RFC 5322 header-style fields (also the syntax of RFC 3464 and RFC 5965 parts), unfolded. */
function parseFields(block: string): Fields {
  const fields: Fields = new Map();
  let last: string[] | undefined;
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && last) {
      last[last.length - 1] += ` ${line.trim()}`;
      continue;
    }
    const m = /^([\w-]+)\s*:\s*(.*)$/.exec(line);
    if (!m) {
      last = undefined;
      continue;
    }
    const name = m[1]!.toLowerCase();
    last = fields.get(name) ?? [];
    last.push(m[2]!.trim());
    fields.set(name, last);
  }
  return fields;
}

const first = (fields: Fields, name: string) => fields.get(name)?.[0];
const headerBlock = (text: string) => text.split(/\r?\n\r?\n/, 1)[0] ?? '';

/**
 * The per-recipient groups of a message/delivery-status part (RFC 3464 §2.3). Some MTAs omit
 * the blank line between groups, so a second Final-Recipient also starts a new group.
 */
function deliveryStatusGroups(body: string): Fields[] {
  const groups: Fields[] = [];
  let current: string[] = [];
  // The recipient fields the current group has lines starting with ('final', 'original').
  let recipientFields = new Set<string>();
  const flush = () => {
    const fields = parseFields(current.join('\n'));
    if (fields.has('final-recipient') || fields.has('original-recipient') || fields.has('x-actual-recipient'))
      groups.push(fields);
    current = [];
    recipientFields = new Set();
  };
  for (const line of body.split(/\r?\n/)) {
    const field = /^(final|original)-recipient\s*:/i.exec(line)?.[1]?.toLowerCase();
    if (line.trim() === '' || (field !== undefined && recipientFields.has(field))) flush();
    if (line.trim() === '') continue;
    current.push(line);
    const starts = /^(final|original)-recipient/i.exec(line)?.[1]?.toLowerCase();
    if (starts) recipientFields.add(starts);
  }
  flush();
  return groups;
}

// "rfc822; <a@b>" → "a@b"
const fieldAddress = (value: string | undefined) =>
  value ? findAddresses(value.replace(/^[\w-]+\s*;/, ''))[0] : undefined;

interface Evidence {
  address: string;
  status?: string | undefined;
  diagnostic?: string | undefined;
  action?: string | undefined;
  /** More of the report's words, read when the diagnostic alone decides nothing. */
  moreText: string;
  /** The report's own lines about this address, where an MTA says which SMTP command was refused. */
  about?: string;
  format?: ReportFormat | undefined;
  /** A verdict the format states outright for this recipient (a bounce category field). */
  verdict?: BounceRule | undefined;
}

function failure(evidence: Evidence): FailedRecipient {
  const { address, status, action, about, format, verdict } = evidence;
  // Only the first words are read (FAILURE_TEXT_LIMIT), however many a report gives one recipient.
  const diagnostic = evidence.diagnostic?.slice(0, FAILURE_TEXT_LIMIT);
  const moreText = evidence.moreText.slice(0, FAILURE_TEXT_LIMIT);
  let said = diagnostic;
  const rules = verdict ? [verdict] : (format?.rules ?? []);
  // A bare code or a wrapper ("550 Requested action not taken") decided nothing: read the human part too.
  if (
    !matchRule({ status, diagnostic: said, action }, rules) &&
    !findRule({ status, diagnostic: said, action }).phrase &&
    moreText
  ) {
    said = [said, moreText].filter(Boolean).join('\n');
  }
  const command = format?.command?.(said ?? '') ?? commandOf(about ?? '');
  // After DATA the address had been accepted: a Status code the remote's reply does not carry is
  // the reporting MTA's reading of its words (Sendmail makes "550 User unknown" 5.1.1), not the
  // remote's verdict on the address.
  const judged = command === 'DATA' && diagnostic && !pickStatus(undefined, diagnostic) ? undefined : status;
  const { decision, reason } = classifyFailure(
    { status: judged, diagnostic: said, action, ...(command ? { command } : {}) },
    rules,
  );
  const code = pickStatus(status, said);
  return {
    address,
    decision,
    reason,
    ...(code ? { status: code } : {}),
    ...(diagnostic ? { diagnostic } : {}),
    ...(action ? { action: action.toLowerCase() } : {}),
  };
}

// A report may name thousands of failed recipients; each costs a classification, so only the
// first ones are read and the rest counted.
const MAX_RECIPIENTS = 100;

interface Capped<T> {
  kept: T[];
  dropped: number;
}

const capped = <T>(all: T[]): Capped<T> => ({
  kept: all.slice(0, MAX_RECIPIENTS),
  dropped: Math.max(0, all.length - MAX_RECIPIENTS),
});

/** The address a delivery-status group reports a failure for, if it does. */
function failedAddress(group: Fields): string | undefined {
  // A Final-Recipient without a dotted domain ("@lmtp.host:user@server") is an internal name.
  const final = fieldAddress(first(group, 'final-recipient'));
  const address =
    (final && /@[^@]+\.[^@]+$/.test(final) ? final : undefined) ??
    fieldAddress(first(group, 'original-recipient')) ??
    fieldAddress(first(group, 'x-actual-recipient')) ??
    final;
  const action = first(group, 'action');
  return action && /^(delivered|relayed|expanded)/i.test(action) ? undefined : address;
}

function dsnRecipients(body: string, report: ReportLines, format: ReportFormat | undefined): Capped<FailedRecipient> {
  const groups = new Map<string, { address: string; group: Fields }>();
  for (const group of deliveryStatusGroups(body)) {
    const address = failedAddress(group);
    if (address && !groups.has(address.toLowerCase())) groups.set(address.toLowerCase(), { address, group });
  }
  const verdictLine = format?.verdictLine?.(report.text);
  const { kept, dropped } = capped([...groups.values()]);
  const recipients = kept.map(({ address, group }) => {
    const about = textAbout(report, address);
    return failure({
      address,
      status: first(group, 'status')?.match(/\d\.\d{1,3}\.\d{1,3}/)?.[0],
      diagnostic: first(group, 'diagnostic-code')?.replace(/^[\w-]+\s*;\s*/, ''),
      action: first(group, 'action'),
      about,
      format,
      moreText: [about, verdictLine].filter(Boolean).join('\n'),
      verdict: format?.groupVerdict?.((name) => first(group, name)),
    });
  });
  return { kept: recipients, dropped };
}

// RFC 5965 §3.5 feedback types: auth-failure is a DMARC/DKIM report about the sender; not-spam un-reports.
const NOT_A_COMPLAINT = /^(auth-failure|not-spam)$/i;

function arfRecipients(feedbackType: string, rcptTo: string[], original: Fields | undefined): Capped<FailedRecipient> {
  const addresses = rcptTo.length ? rcptTo : findAddresses((original?.get('to') ?? []).join(', '));
  const ignore = NOT_A_COMPLAINT.test(feedbackType);
  const { kept, dropped } = capped([...new Set(addresses)]);
  const recipients = kept.map((address) => ({
    address,
    decision: ignore ? ('ignore' as const) : ('complaint' as const),
    reason: ignore ? feedbackType.toLowerCase() : 'feedback',
  }));
  return { kept: recipients, dropped };
}

// RFC 3834 marks and the subjects of the big providers' out-of-office replies.
const AUTOREPLY_SUBJECT =
  /^\s*(auto(matic|matische)?[ _-]?(reply|response|antwort|respons)|autorespon|out of (the )?office|away from|away until|on vacation|vacation|abwesend|abwesenheit|absence|absent|r[ée]ponse automatique|risposta automatica|respuesta autom[áa]tica|自動応答|自動返信|auto:)/i;

// What only a failure report says: an SMTP reply with its enhanced code, or the words of a failed delivery.
const FAILURE_WORDS =
  /\b[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b|undeliver|(not|never) (been |be )?(accepted|delivered)|could not (be )?deliver|delivery (has )?failed|permanent (error|failure)/i;

function isAutoReply(mail: ParsedMail, header: (name: string) => string | undefined, text: string): boolean {
  // A report of a format we do not know may carry an auto-reply's marks (RFC 3834 §5 asks DSNs to):
  // its words decide, so a failure is never taken for an out-of-office note.
  if (FAILURE_WORDS.test(text)) return false;
  if (header('x-autoreply') || header('x-autorespond') || /auto[_-]?reply/i.test(header('precedence') ?? ''))
    return true;
  if (AUTOREPLY_SUBJECT.test(mail.subject ?? '')) return true;
  // DSNs are auto-replied too (RFC 3834 §5): only a person's address makes it a vacation reply.
  const fromSystem = /^(mailer-daemon|postmaster|mail-daemon|mailer)@/i.test(mail.from?.value[0]?.address ?? '');
  return (
    /auto-replied/i.test(header('auto-submitted') ?? '') &&
    !fromSystem &&
    !/undeliver|deliver|fail|return/i.test(mail.subject ?? '')
  );
}

const sourceOf = (raw: Buffer | string) => (typeof raw === 'string' ? raw : raw.toString('latin1'));

/**
 * The body of the first MIME part of a type, read from the source. mailparser renders an inline
 * message/rfc822 into the text (keeping only From, To, Subject, Date, so the Message-ID and
 * List-Unsubscribe we match on are lost) and drops parts of a multipart whose boundaries a
 * gateway broke; RFC 2046 §5.2.1 keeps these parts in 7bit/8bit, so the source is readable.
 */
function rawPart(raw: Buffer | string, type: RegExp): string | undefined {
  const source = sourceOf(raw);
  const at = source.search(new RegExp(`^Content-Type:\\s*(${type.source})\\b`, 'im'));
  if (at < 0) return undefined;
  const body = /\r?\n\r?\n/.exec(source.slice(at));
  if (!body) return undefined;
  const rest = source.slice(at + body.index + body[0].length);
  const end = rest.search(/^--\S/m);
  return end < 0 ? rest : rest.slice(0, end);
}

// A multipart/report without its boundaries leaves mailparser no text: the raw body is the text.
const rawBody = (raw: Buffer | string) => {
  const source = sourceOf(raw);
  const body = /\r?\n\r?\n/.exec(source);
  return body ? source.slice(body.index + body[0].length) : '';
};

/** The failed recipients of a report without a delivery-status part, from its text first. */
function textFailures(
  report: ReportLines,
  notRecipients: string[],
  failedHeader: string | undefined,
  original: Fields | undefined,
): Capped<ScrapedFailure> {
  const scraped = scrapeFailures(report, new Set(notRecipients.map((a) => a.toLowerCase())));
  if (scraped.length) return capped(scraped);
  // Exim names the failed addresses in a header of its own, also when its text shows only a local part.
  const exim = capped(findAddresses(failedHeader ?? ''));
  if (exim.kept.length) {
    const kept = exim.kept.map((address) => ({ address, diagnostic: textAbout(report, address) || report.text }));
    return { kept, dropped: exim.dropped };
  }
  // Nothing named in the prose (a carrier's "could not be delivered to mobile"): the original's
  // addressee, from its To or the "for <…>" of its first Received.
  const receivedFor = (original?.get('received') ?? []).map(
    (r) => /\bfor\s+<?([^\s<>;]+@[^\s<>;]+)/i.exec(r)?.[1] ?? '',
  );
  const addressee = findAddresses([...(original?.get('to') ?? []), ...receivedFor].join(','))[0];
  return { kept: addressee ? [{ address: addressee, diagnostic: report.text }] : [], dropped: 0 };
}

const ORIGINAL_TYPES = /^(message\/(rfc822|global)|text\/rfc822-headers|message\/(rfc822|global)-headers)$/i;
const COMPLAINT_SUBJECT = /complaint about message from|abuse report|feedback report|spam report/i;

// mailparser builds a node for each MIME part (and gives up past a thousand); reports have a few.
const MAX_MIME_PARTS = 200;
// A relay may return the report it got inside its own; reports nested deeper are not read.
const MAX_FORWARDS = 3;
const DECLARED_BOUNDARY = /boundary\s*=\s*(?:"([^"\r\n]*)"|([^\s;"]+))/gi;

/** The MIME parts of a message counted on its source: the lines opening one ("--" and a declared boundary). */
function countMimeParts(source: string): number {
  const boundaries = new Set([...source.matchAll(DECLARED_BOUNDARY)].map((m) => m[1] ?? m[2]));
  let parts = 0;
  for (const line of source.matchAll(/^--(.*)$/gm)) if (boundaries.has(line[1]!.trimEnd())) parts++;
  return parts;
}

function refuseOverCaps(raw: Buffer | string, forwards: number): void {
  if (forwards > MAX_FORWARDS)
    throw new ReportRefused('depth', `report forwarded inside more than ${MAX_FORWARDS} other reports`);
  const parts = countMimeParts(sourceOf(raw));
  if (parts > MAX_MIME_PARTS)
    throw new ReportRefused('parts', `report has ${parts} MIME parts, more than ${MAX_MIME_PARTS}`);
}

/** The URLs in <> of a List-Unsubscribe value, read in one pass (an unclosed '<' is not rescanned to the end). */
function bracketed(value: string): string[] {
  const urls: string[] = [];
  for (let open = value.indexOf('<'); open >= 0;) {
    const close = value.indexOf('>', open + 1);
    if (close < 0) break;
    if (close > open + 1) urls.push(value.slice(open + 1, close));
    open = value.indexOf('<', close + 1);
  }
  return urls;
}

/** What a report carries about the message it returns (the original), from a part or its quoted text. */
function returnedOriginal(mail: ParsedMail, raw: Buffer | string, quoted: string | undefined) {
  const part = mail.attachments.find((a) => ORIGINAL_TYPES.test(a.contentType));
  const text = part
    ? part.content.toString('utf8')
    : (rawPart(raw, /message\/(rfc822|global)|text\/rfc822-headers/) ?? quoted);
  const fields = text ? parseFields(headerBlock(text.replace(/^\s+/, ''))) : undefined;
  return { part, text, fields };
}

/** What every kind of report says: its envelope, its own headers, and the original's identity. */
function reportBase(mail: ParsedMail, original: Fields | undefined): BounceReport {
  const envelopeTo = [
    ...new Set(
      mail.headerLines
        .filter((h) => /^(to|delivered-to|x-original-to|envelope-to|x-envelope-to|x-rcpt-to)$/.test(h.key))
        .flatMap((h) => findAddresses(h.line.slice(h.line.indexOf(':') + 1))),
    ),
  ];
  const from = mail.from?.value[0]?.address;
  const listUnsubscribe = bracketed(original?.get('list-unsubscribe')?.join(',') ?? '');
  const returnPath = findAddresses((original && first(original, 'return-path')) ?? '')[0];
  return {
    kind: 'unknown',
    recipients: [],
    envelopeTo,
    ...(original?.has('message-id')
      ? { originalMessageId: first(original, 'message-id')!.replace(/^<|>$/g, '').trim() }
      : {}),
    ...(listUnsubscribe.length ? { originalListUnsubscribe: listUnsubscribe } : {}),
    ...(returnPath ? { originalReturnPath: returnPath } : {}),
    ...(mail.subject ? { subject: mail.subject } : {}),
    ...(from ? { from } : {}),
    ...(mail.messageId ? { messageId: mail.messageId } : {}),
  };
}

const withDropped = (dropped: number) => (dropped ? { droppedRecipients: dropped } : {});

/**
 * Parses one bounce, complaint or auto-reply as received, and classifies each failed recipient
 * (the first MAX_RECIPIENTS; droppedRecipients counts the rest). Throws ReportRefused for a
 * message over a cap on its shape; mailparser's own errors pass through.
 */
export function parseReport(raw: Buffer | string): Promise<BounceReport> {
  return parseForwarded(raw, 0);
}

async function parseForwarded(given: Buffer | string, forwards: number): Promise<BounceReport> {
  refuseOverCaps(given, forwards);
  const raw = decodeUnlabelled(given);
  const mail = await simpleParser(raw, { skipImageLinks: true, skipTextLinks: true, skipTextToHtml: true });
  const header = (name: string) => {
    const line = mail.headerLines.find((h) => h.key === name)?.line;
    return line?.slice(line.indexOf(':') + 1).trim();
  };
  const part = (type: RegExp): Attachment | undefined => mail.attachments.find((a) => type.test(a.contentType));

  const text = mail.text?.trim() || (mail.html || mail.attachments.length ? '' : rawBody(raw));
  const split = splitReturnedOriginal(text);
  const report = new ReportLines(split.report);
  const { part: originalPart, text: originalText, fields: original } = returnedOriginal(mail, raw, split.original);
  const base = reportBase(mail, original);

  const rawHeader = (name: string) =>
    mail.headerLines.filter((h) => h.key === name).map((h) => h.line.slice(h.line.indexOf(':') + 1).trim());
  const format = detectFormat({
    header,
    headers: rawHeader,
    subject: mail.subject ?? '',
    from: header('from') ?? '',
    text: report.text,
  });

  const ses = sesReport(text);
  if (ses) return { ...base, ...ses, recipients: capped(ses.recipients ?? []).kept };

  const feedback = part(/^message\/feedback-report$/i);
  if (feedback || (COMPLAINT_SUBJECT.test(mail.subject ?? '') && original && !part(/delivery-status/i))) {
    const fields = feedback ? parseFields(feedback.content.toString('utf8')) : new Map<string, string[]>();
    const feedbackType = (first(fields, 'feedback-type') ?? 'abuse').toLowerCase();
    const rcptTo = ['original-rcpt-to', 'removal-recipient']
      .flatMap((name) => fields.get(name) ?? [])
      .flatMap(findAddresses);
    const { kept, dropped } = arfRecipients(feedbackType, rcptTo, original);
    return { ...base, kind: 'arf', feedbackType, recipients: kept, ...withDropped(dropped) };
  }

  const deliveryStatus = part(/^message\/(global-)?delivery-status$/i);
  const dsnBody =
    deliveryStatus?.content.toString('utf8') ??
    rawPart(raw, /message\/(global-)?delivery-status/) ??
    (/^final-recipient\s*:/im.test(report.text) ? report.text : undefined);
  if (dsnBody) {
    const { kept, dropped } = dsnRecipients(dsnBody, report, format);
    if (kept.length) return { ...base, kind: 'dsn', recipients: kept, ...withDropped(dropped) };
  }

  // A report forwarded as an attachment (a relay returning the DSN it got): read the inner one.
  if (originalPart && /^content-type:\s*multipart\/report/im.test(headerBlock(originalText ?? ''))) {
    const inner = await parseForwarded(originalPart.content, forwards + 1);
    if (inner.recipients.length) return { ...base, ...fromInnerReport(inner) };
  }

  if (isAutoReply(mail, header, report.text)) {
    const recipients: FailedRecipient[] = base.from
      ? [{ address: base.from, decision: 'ignore', reason: 'vacation' }]
      : [];
    return { ...base, kind: 'autoreply', recipients };
  }

  const notRecipients = [
    ...base.envelopeTo,
    base.from,
    base.originalMessageId,
    ...findAddresses((original?.get('from') ?? []).join(',')),
  ].filter((a): a is string => Boolean(a));
  const ownWay = format?.recipients?.(report.text) ?? [];
  const { kept, dropped } = ownWay.length
    ? capped(ownWay)
    : textFailures(report, notRecipients, header('x-failed-recipients'), original);
  const moreText = `${report.text}\n${mail.subject ?? ''}`;
  const recipients = kept.map((s) => failure({ address: s.address, diagnostic: s.diagnostic, moreText, format }));
  return { ...base, kind: recipients.length ? 'dsn' : 'unknown', recipients, ...withDropped(dropped) };
}

/** What an outer report takes from the report forwarded inside it. */
function fromInnerReport(inner: BounceReport): Partial<BounceReport> {
  const { kind, recipients, droppedRecipients, originalMessageId, originalListUnsubscribe, originalReturnPath } = inner;
  return {
    kind,
    recipients,
    ...withDropped(droppedRecipients ?? 0),
    ...(originalMessageId ? { originalMessageId } : {}),
    ...(originalListUnsubscribe ? { originalListUnsubscribe } : {}),
    ...(originalReturnPath ? { originalReturnPath } : {}),
  };
}
