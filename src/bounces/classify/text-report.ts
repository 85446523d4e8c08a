/**
 * Reading the human text of bounces that carry no RFC 3464 part (qmail, Exim, old Sendmail,
 * Exchange 2003, Gmail, Yahoo, Lotus, carriers…). They differ in wording but share a shape:
 * some prose, each failed address at the start of a line (bare, in <>, after a bullet or an SMTP
 * code), the server's words after it, then a copy of the original after a separator line.
 */

// The characters of an address before its '@' (RFC 5322 atext and the dot), and its domain after it.
const LOCAL_CHARS = new Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+/=?^_`{|}~-");
const DOMAIN = /[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*/iy;

/**
 * The addresses in a text, in order. Read outward from each '@': a regex search for them starts
 * over at every character of a long run of address characters that no '@' ends.
 */
export function findAddresses(text: string): string[] {
  const found: string[] = [];
  let from = 0;
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > from && LOCAL_CHARS.has(text[start - 1]!)) start--;
    DOMAIN.lastIndex = at + 1;
    if (start === at || !DOMAIN.test(text)) continue;
    found.push(text.slice(start, DOMAIN.lastIndex).replace(/^[.'"]+/, ''));
    from = DOMAIN.lastIndex;
    at = from - 1;
  }
  return found;
}

// Lines that announce the returned original in the reports of the common MTAs
// ("------ This is a copy of the message", "--- Below this line is a copy of the message.",
// "----- Original message -----", "----- Unsent message follows -----", "Original message follows.").
const ORIGINAL_SEPARATOR = new RegExp(
  [
    'copy of (the |your )?(original )?message',
    'original message',
    'unsent message',
    'returned message',
    'message header',
    'header of the original',
    'headers? of (the|your) (original )?message',
    'included is a copy',
    'below is a copy',
    'returned mail follows',
    '^-+ ?message follows',
    'original mail',
    'end of (the )?(message|report)',
    'original-message',
    'content of (the )?(original|message)',
  ].join('|'),
  'i',
);

// The first header of a quoted original, when no separator line announces it.
const ORIGINAL_FIRST_HEADER =
  /^(Received|Return-Path|DKIM-Signature|Message-Id|Delivered-To|X-Original-To|MIME-Version|Authentication-Results|ARC-Seal|X-Received|X-Google-Smtp-Source):/i;
const PLAIN_HEADER = /^(From|To|Subject|Date|Cc|Content-Type|Reply-To):/i;

export interface SplitText {
  /** The report's own words: where the failed addresses and the servers' replies are. */
  report: string;
  /** The quoted copy of the original message (headers first), when the text carries one. */
  original?: string;
}

export function splitReturnedOriginal(text: string): SplitText {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const next = lines[i + 1] ?? '';
    const separator = ORIGINAL_SEPARATOR.test(line) && /^\W|follows|below|copy|^-/i.test(line.trim());
    const header = ORIGINAL_FIRST_HEADER.test(line) || (PLAIN_HEADER.test(line) && PLAIN_HEADER.test(next));
    if (separator || header) {
      return { report: lines.slice(0, i).join('\n'), original: lines.slice(separator ? i + 1 : i).join('\n') };
    }
  }
  return { report: text };
}

// What may stand before a failed address at the start of its line: bullets, Sendmail's ">>>",
// an SMTP reply ("554 5.1.1 <a@b>..."), or a label ("Recipient:", "To:", "RCPT TO:"), each
// followed by spaces, then an opening bracket. Each token is tried alone at each position the
// lead reaches, so a long run of bullets is read once, not split every way a repeated group can.
const LEAD_CHAR = /[\s*•>-]/;
const LEAD_OPENING = /[<"'(]/;
const LEAD_TOKENS = [
  /\d{3}[ -]/y,
  /\d{3}[ -][245]\.\d{1,3}\.\d{1,3}\s/y,
  /(?:original-|final-)?recipient(?:\s+address)?:/iy,
  /to:/iy,
  /address(?:\(es\))?:/iy,
  /sent <<< rcpt to:/iy,
  /rcpt to:/iy,
  /could not be delivered to:/iy,
  /unable to deliver (?:message )?to/iy,
  /unable to deliver (?:message )?to:/iy,
  /delivery to/iy,
];

/** Marks each position of a line up to `limit` where an address may follow its lead (non-zero). */
function leadEnds(line: string, limit: number): Uint8Array {
  const LEAD = 1;
  const OPENED = 2;
  const ends = new Uint8Array(limit + 1);
  ends[0] = LEAD;
  for (let p = 0; p < limit; p++) {
    if (!(ends[p]! & LEAD)) continue;
    const c = line[p]!;
    if (LEAD_CHAR.test(c)) ends[p + 1]! |= LEAD;
    if (LEAD_OPENING.test(c)) ends[p + 1]! |= OPENED;
    if (!/[\da-z]/i.test(c)) continue;
    for (const token of LEAD_TOKENS) {
      token.lastIndex = p;
      if (token.test(line) && token.lastIndex <= limit) ends[token.lastIndex]! |= LEAD;
    }
  }
  return ends;
}

// Addresses compare ignoring ASCII case only: they are ASCII, and no other letter folds to one.
const asciiLower = (text: string) => text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
const SPACE = /\s/;

/**
 * The address a line ends with after a colon ("User mailbox exceeds allowed size: a@b" (IMail),
 * "Unknown user: <a@b>"), unless the label names the sender ("From: a@b").
 */
function addressAfterColon(line: string): string | undefined {
  let end = line.length;
  while (end > 0 && SPACE.test(line[end - 1]!)) end--;
  if (line[end - 1] === '>') end--;
  let start = end;
  while (start > 0 && !/[\s:<]/.test(line[start - 1]!)) start--;
  let colon = start;
  if (line[colon - 1] === '<') colon--;
  while (colon > 0 && SPACE.test(line[colon - 1]!)) colon--;
  if (start === end || line[colon - 1] !== ':') return undefined;
  let labelEnd = colon - 1;
  while (labelEnd > 0 && SPACE.test(line[labelEnd - 1]!)) labelEnd--;
  const label = asciiLower(line.slice(Math.max(0, labelEnd - 'sender address'.length), labelEnd));
  return /(from|sender|sender address)$/.test(label) ? undefined : asciiLower(line.slice(start, end));
}

// A transcript's "In: RCPT TO:<a@b> ORCPT=…" (Postfix), ">>> RCPT To:<a@b>" (Sendmail).
const QUOTED_RCPT = /rcpt to:\s*<([^<>\s]*)>/gi;

/**
 * Which of a line's addresses (lower-cased) it names the way a report names a failed one: at
 * its start after a lead, at its end after a label's colon, or in a quoted RCPT TO. Worked out
 * once per line, whatever the number of addresses on it.
 */
function leadingAddresses(line: string, addresses: readonly string[]): Set<string> {
  const leading = new Set<string>();
  if (addresses.length === 0) return leading;
  // After a lead, an address holds the line's first '@'.
  const firstAt = line.indexOf('@');
  const ends = leadEnds(line, firstAt);
  // It must also end its word: an '@' further on in the same run ("a@b.c_d@e.f") shows it does not.
  const word = /[\w.-]*/y;
  word.lastIndex = firstAt + 1;
  word.test(line);
  const endsWord = line[word.lastIndex] !== '@';
  const afterColon = addressAfterColon(line);
  const quoted = new Set([...line.matchAll(QUOTED_RCPT)].map((m) => asciiLower(m[1]!)));
  for (const address of addresses) {
    const key = asciiLower(address);
    const start = firstAt - address.indexOf('@');
    const afterLead =
      endsWord && start >= 0 && ends[start] !== 0 && asciiLower(line.slice(start, start + address.length)) === key;
    if (afterLead || key === afterColon || quoted.has(key)) leading.add(key);
  }
  return leading;
}

/** A report's text as lines, with each line's addresses and leading addresses worked out once. */
export class ReportLines {
  readonly lines: string[];
  private readonly found: (string[] | undefined)[] = [];
  private readonly leads: (Set<string> | undefined)[] = [];
  private readonly blanks: (boolean | undefined)[] = [];
  private lowerText?: string;
  private lineStarts?: number[];

  constructor(readonly text: string) {
    this.lines = text.split(/\r?\n/);
  }

  /** Whether the line holds nothing but spaces. */
  blank(index: number): boolean {
    return (this.blanks[index] ??= (this.lines[index] ?? '').trim() === '');
  }

  addresses(index: number): string[] {
    return (this.found[index] ??= findAddresses(this.lines[index] ?? ''));
  }

  /** Whether the line names `address`, one of its own, where a report names a failed one. */
  leadsWith(index: number, address: string): boolean {
    return this.leading(index).has(asciiLower(address));
  }

  /** Whether the line names another of its addresses than `address` where a report names a failed one. */
  leadsWithOther(index: number, address: string): boolean {
    const leading = this.leading(index);
    return leading.size > (leading.has(asciiLower(address)) ? 1 : 0);
  }

  private leading(index: number): Set<string> {
    return (this.leads[index] ??= leadingAddresses(this.lines[index] ?? '', this.addresses(index)));
  }

  /** The first line that mentions `address`, in any case; -1 when none does. */
  firstLineWith(address: string): number {
    this.lowerText ??= this.text.toLowerCase();
    const at = this.lowerText.indexOf(address.toLowerCase());
    if (at < 0) return -1;
    // Lower-casing may change the text's length but keeps its line breaks: count those.
    this.lineStarts ??= [...this.lowerText.matchAll(/\n/g)].map((m) => m.index + 1);
    let low = 0;
    let high = this.lineStarts.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.lineStarts[mid]! <= at) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

// Exim's, 1&1's and Sendmail's headings of the failed-address list.
const FAILED_HEADING =
  /\b(following address(es|\(es\))? failed|following addresses had permanent fatal errors)\b[\s:-]*$/i;

export interface ScrapedFailure {
  address: string;
  /** The lines from the address to the next failed address: the server's words about it. */
  diagnostic: string;
}

// A line that ends naming the sender ("A message sent by", "From:"): an address under it is the sender's.
const SENDER_LABEL = /\b(sent by|from|sender)\s*(?::\s*)?$/i;

// Fields that carry message ids (<local@host>), which have an address's shape but name no one.
const MESSAGE_ID_FIELD =
  /^\s*(?:original[- ]message[- ]id|resent-message-id|message[- ]id|references|in-reply-to)\s*:/i;

/** The message ids (lower-cased) in a report's Message-ID, References and In-Reply-To lines and their continuations. */
function messageIds(report: ReportLines): Set<string> {
  const ids = new Set<string>();
  let inField = false;
  report.lines.forEach((line, index) => {
    inField = MESSAGE_ID_FIELD.test(line) || (inField && /^[ \t]/.test(line) && !report.blank(index));
    if (inField) for (const id of report.addresses(index)) ids.add(id.toLowerCase());
  });
  return ids;
}

/**
 * The failed recipients named in a report's text. `notRecipients` holds addresses known to be
 * someone else (the report's sender and addressee, the original's sender) so a sender quoted
 * in an SMTP error ("MAIL FROM:<me@…>") is not taken for a failed reader.
 */
export function scrapeFailures(report: ReportLines, notRecipients: ReadonlySet<string>): ScrapedFailure[] {
  const { lines } = report;
  const ids = messageIds(report);
  const isOther = (address: string) =>
    notRecipients.has(address.toLowerCase()) ||
    /^(postmaster|mailer-daemon|abuse|support|help|noreply|no-reply)@/i.test(address);
  const starts: { line: number; address: string }[] = [];
  let underSender = false;
  lines.forEach((line, index) => {
    // Exim's "A message sent by\n  <me@…>\ncould not be delivered": the sender on a line of its own.
    const afterSender = underSender;
    if (!report.blank(index)) underSender = SENDER_LABEL.test(line);
    const addresses = new Set(report.addresses(index));
    if (afterSender || addresses.size === 0) return;
    // Right under "The following address(es) failed:" an address is a failed one, even when it
    // is also the report's addressee (someone writing to themself, or an anonymised corpus).
    const announced = FAILED_HEADING.test(
      lines
        .slice(Math.max(0, index - 3), index)
        .join(' ')
        .replace(/\s+/g, ' '),
    );
    for (const address of addresses) {
      if (ids.has(address.toLowerCase())) continue;
      if ((announced || !isOther(address)) && report.leadsWith(index, address)) starts.push({ line: index, address });
    }
  });
  if (starts.length === 0) {
    // Some reports (a list server, a carrier) name the address only inside a sentence.
    const first = findAddresses(report.text).find((a) => !isOther(a) && !ids.has(a.toLowerCase()));
    return first ? [{ address: first, diagnostic: report.text.trim() }] : [];
  }
  const byAddress = new Map<string, ScrapedFailure>();
  for (let i = 0, j = 0; i < starts.length; i = j) {
    const { line } = starts[i]!;
    while (j < starts.length && starts[j]!.line === line) j++;
    // From the line of these addresses to the next line with failed addresses.
    const block = lines
      .slice(line, starts[j]?.line ?? lines.length)
      .join('\n')
      .trim();
    for (const { address } of starts.slice(i, j)) {
      const known = byAddress.get(address.toLowerCase());
      if (known) known.diagnostic += `\n${block}`;
      else byAddress.set(address.toLowerCase(), { address, diagnostic: block });
    }
  }
  return [...byAddress.values()];
}

/**
 * The most of a report's words read about one failure (a server's reply with the lines around
 * it fits many times over), so the work per failed recipient stays the same however long the
 * report is.
 */
export const FAILURE_TEXT_LIMIT = 4096;

/** The lines of a report's text about one address: a DSN's human part often says more than its fields. */
export function textAbout(report: ReportLines, address: string): string {
  const at = report.firstLineWith(address);
  if (at < 0) return '';
  const about = [report.lines[at]!];
  for (let i = at + 1; i < Math.min(at + 8, report.lines.length); i++) {
    // Up to a blank line or the line of the next failed address.
    if (report.blank(i) || report.leadsWithOther(i, address)) break;
    about.push(report.lines[i]!);
  }
  // Each line cut first, so a long line is not copied whole for each recipient.
  return about
    .map((line) => line.slice(0, FAILURE_TEXT_LIMIT))
    .join('\n')
    .slice(0, FAILURE_TEXT_LIMIT);
}
