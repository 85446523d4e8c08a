/**
 * Reading the human text of bounces that carry no RFC 3464 part (qmail, Exim, old Sendmail,
 * Exchange 2003, Gmail, Yahoo, Lotus, carriers…). They differ in wording but share a shape:
 * some prose, each failed address at the start of a line (bare, in <>, after a bullet or an SMTP
 * code), the server's words after it, then a copy of the original after a separator line.
 */

const ADDRESS = /[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*/gi;

export function findAddresses(text: string): string[] {
  return [...text.matchAll(ADDRESS)].map((m) => m[0].replace(/^[.'"]+/, ''));
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
// an SMTP reply ("554 5.1.1 <a@b>..."), or a label ("Recipient:", "To:", "RCPT TO:").
const LEAD = String.raw`^\s*(?:(?:[*•>\-]+|\d{3}[ -](?:[245]\.\d{1,3}\.\d{1,3}\s+)?|(?:original-|final-)?recipient(?:\s+address)?:|to:|address(?:\(es\))?:|sent <<< rcpt to:|rcpt to:|could not be delivered to:|unable to deliver (?:message )?to:?|delivery to)\s*)*[<"'(]?`;

function addressLeadsLine(line: string, address: string): boolean {
  const escaped = address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return (
    new RegExp(`${LEAD}${escaped}(?![\\w.-]*@)`, 'i').test(line) ||
    // "User mailbox exceeds allowed size: a@b" (IMail), "Unknown user: a@b".
    new RegExp(`(?<!(from|sender|sender address)\\s*):\\s*<?${escaped}>?\\s*$`, 'i').test(line) ||
    // A transcript's "In: RCPT TO:<a@b> ORCPT=…" (Postfix), ">>> RCPT To:<a@b>" (Sendmail).
    new RegExp(`rcpt to:\\s*<${escaped}>`, 'i').test(line)
  );
}

// Exim's, 1&1's and Sendmail's headings of the failed-address list.
const FAILED_HEADING =
  /\b(following address(es|\(es\))? failed|following addresses had permanent fatal errors)\b[\s:-]*$/i;

export interface ScrapedFailure {
  address: string;
  /** The lines from the address to the next failed address: the server's words about it. */
  diagnostic: string;
}

/**
 * The failed recipients named in a report's text. `notRecipients` holds addresses known to be
 * someone else (the report's sender and addressee, the original's sender) so a sender quoted
 * in an SMTP error ("MAIL FROM:<me@…>") is not taken for a failed reader.
 */
export function scrapeFailures(report: string, notRecipients: ReadonlySet<string>): ScrapedFailure[] {
  const lines = report.split(/\r?\n/);
  const isOther = (address: string) =>
    notRecipients.has(address.toLowerCase()) ||
    /^(postmaster|mailer-daemon|abuse|support|help|noreply|no-reply)@/i.test(address);
  const starts: { line: number; address: string }[] = [];
  lines.forEach((line, index) => {
    // Exim's "A message sent by\n  <me@…>\ncould not be delivered": the sender on a line of its own.
    const previous =
      lines
        .slice(0, index)
        .reverse()
        .find((l) => l.trim() !== '') ?? '';
    if (/\b(sent by|from|sender)\s*:?\s*$/i.test(previous)) return;
    // Right under "The following address(es) failed:" an address is a failed one, even when it
    // is also the report's addressee (someone writing to themself, or an anonymised corpus).
    const announced = FAILED_HEADING.test(
      lines
        .slice(Math.max(0, index - 3), index)
        .join(' ')
        .replace(/\s+/g, ' '),
    );
    for (const address of new Set(findAddresses(line))) {
      if ((announced || !isOther(address)) && addressLeadsLine(line, address)) starts.push({ line: index, address });
    }
  });
  if (starts.length === 0) {
    // Some reports (a list server, a carrier) name the address only inside a sentence.
    const first = findAddresses(report).find((a) => !isOther(a));
    return first ? [{ address: first, diagnostic: report.trim() }] : [];
  }
  const byAddress = new Map<string, ScrapedFailure>();
  starts.forEach((start, i) => {
    const nextLine = starts.slice(i + 1).find((s) => s.line > start.line)?.line ?? lines.length;
    const block = lines
      .slice(start.line, Math.max(nextLine, start.line + 1))
      .join('\n')
      .trim();
    const key = start.address.toLowerCase();
    const known = byAddress.get(key);
    if (known) known.diagnostic += `\n${block}`;
    else byAddress.set(key, { address: start.address, diagnostic: block });
  });
  return [...byAddress.values()];
}

/** The lines of a report's text about one address: a DSN's human part often says more than its fields. */
export function textAbout(report: string, address: string): string {
  const lines = report.split(/\r?\n/);
  const at = lines.findIndex((line) => line.toLowerCase().includes(address.toLowerCase()));
  if (at < 0) return '';
  const about = [lines[at]!];
  for (const line of lines.slice(at + 1, at + 8)) {
    // Up to a blank line or the line of the next failed address.
    const next = findAddresses(line).find(
      (a) => a.toLowerCase() !== address.toLowerCase() && addressLeadsLine(line, a),
    );
    if (line.trim() === '' || next) break;
    about.push(line);
  }
  return about.join('\n');
}
