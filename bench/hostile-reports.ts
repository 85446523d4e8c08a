/**
 * Hostile bounce reports: messages shaped to make a report parser do more than linear work
 * (many short lines, a long run of address characters, thousands of recipients, thousands of
 * MIME parts, thousands of header-like lines, reports forwarded inside reports, long lines that
 * regexes backtrack over). Pure and deterministic, for the bench and the parser's tests; each
 * is about `sizeBytes` long.
 */

export interface HostileReport {
  name: string;
  raw: Buffer;
}

const CRLF = '\r\n';
const FROM_DAEMON = 'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>';
const TO_BOUNCES = 'To: bounces+s1.abc@papers.example.org';

const message = (headers: string[], body: string[]): Buffer =>
  Buffer.from([...headers, '', ...body].join(CRLF), 'latin1');

/** A multipart/report of the given parts (each its header lines, a blank line, its body lines). */
const report = (headers: string[], boundary: string, parts: string[][]): Buffer =>
  message(
    [
      ...headers,
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    ],
    [...parts.flatMap((part) => [`--${boundary}`, ...part]), `--${boundary}--`, ''],
  );

/** Lines made by `line(i)` until they fill about `bytes`. */
function linesOf(bytes: number, line: (i: number) => string): string[] {
  const lines: string[] = [];
  for (let used = 0, i = 0; used < bytes; i++) {
    const next = line(i);
    lines.push(next);
    used += next.length + CRLF.length;
  }
  return lines;
}

/** A qmail bounce whose text is tens of thousands of short lines after the failed address. */
function shortLines(size: number): Buffer {
  return message(
    [FROM_DAEMON, TO_BOUNCES, 'Subject: failure notice'],
    [
      'Hi. This is the qmail-send program at mx.example.net.',
      "I'm afraid I wasn't able to deliver your message to the following addresses.",
      '',
      '<ann@example.com>:',
      'Sorry, no mailbox here by that name. (#5.1.1)',
      ...linesOf(size, (i) => (i % 2 ? 'x' : '')),
    ],
  );
}

/** A bounce whose text is one word of address characters with no `@` in it. */
function longWord(size: number): Buffer {
  return message(
    [FROM_DAEMON, TO_BOUNCES, 'Subject: Undelivered Mail Returned to Sender'],
    ['This is the mail system at host mx.example.net.', '', 'x.y-z'.repeat(Math.ceil(size / 5)), ''],
  );
}

/**
 * A DSN with one failed recipient per ~122 bytes (8,000 in about 1 MB), named in its text and in
 * its delivery-status groups (every other group without the blank line before it).
 */
function manyRecipients(size: number): Buffer {
  const count = Math.max(1, Math.floor(size / 122));
  const address = (i: number) => `r${i}@example.com`;
  const text = Array.from({ length: count }, (_, i) => `<${address(i)}>: 550 5.1.1 user unknown`);
  const groups = Array.from({ length: count }, (_, i) => [
    `Final-Recipient: rfc822; ${address(i)}`,
    'Action: failed',
    'Status: 5.1.1',
    ...(i % 2 ? [''] : []),
  ]);
  return report([FROM_DAEMON, TO_BOUNCES, 'Subject: Undelivered Mail Returned to Sender'], 'R', [
    ['Content-Type: text/plain', '', 'I could not deliver your message to the following recipients.', '', ...text],
    ['Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.example.net', '', ...groups.flat()],
  ]);
}

/** A multipart message of thousands of tiny parts. */
function manyParts(size: number): Buffer {
  const parts = linesOf(size, (i) => `--P${CRLF}Content-Type: text/plain${CRLF}${CRLF}part ${i}`);
  return message(
    [FROM_DAEMON, TO_BOUNCES, 'Subject: Delivery Status Notification', 'MIME-Version: 1.0'].concat(
      'Content-Type: multipart/mixed; boundary="P"',
    ),
    [...parts, '--P--', ''],
  );
}

/** A DSN whose headers, text, delivery-status group and returned headers are thousands of header-like lines. */
function headerLines(size: number): Buffer {
  const fields = (prefix: string) => linesOf(size / 4, (i) => `X-${prefix}-${i}: value ${i}`);
  return report([FROM_DAEMON, TO_BOUNCES, 'Subject: Undelivered Mail Returned to Sender', ...fields('Header')], 'H', [
    ['Content-Type: text/plain', '', ...fields('Text'), ''],
    [
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.net',
      '',
      'Final-Recipient: rfc822; ann@example.com',
      'Action: failed',
      'Status: 5.1.1',
      ...fields('Field'),
      '',
    ],
    ['Content-Type: text/rfc822-headers', '', ...fields('Original'), ''],
  ]);
}

/** A plain-text bounce naming one failed address per line, thousands of them, under Exim's heading. */
function textRecipients(size: number): Buffer {
  return message(
    [FROM_DAEMON, TO_BOUNCES, 'Subject: Mail delivery failed: returning message to sender'],
    [
      'This message was created automatically by mail delivery software.',
      '',
      'A message that you sent could not be delivered to one or more of its',
      'recipients. This is a permanent error. The following address(es) failed:',
      '',
      ...linesOf(size, (i) => `  reader${i}@example.com${CRLF}    user not found`),
      '',
    ],
  );
}

/**
 * A DSN forwarded inside a report, inside a report… 40 deep, its text padding it to the size.
 * Its delivery-status part is base64, which the source does not show: each level has to be opened.
 */
function nestedReports(size: number): Buffer {
  const depth = 40;
  const status = ['Reporting-MTA: dns; mx.example.net', '', 'Final-Recipient: rfc822; ann@example.com'];
  const encoded = Buffer.from([...status, 'Action: failed', 'Status: 5.1.1', ''].join(CRLF)).toString('base64');
  let inner = report([FROM_DAEMON, TO_BOUNCES, 'Subject: Undelivered Mail'], 'N', [
    ['Content-Type: text/plain', '', ...linesOf(size - depth * 240, () => 'The report below was returned to us.')],
    ['Content-Type: message/delivery-status', 'Content-Transfer-Encoding: base64', '', encoded],
  ]);
  for (let level = 0; level < depth; level++) {
    inner = report([FROM_DAEMON, TO_BOUNCES, 'Subject: Returned mail'], `N${level}`, [
      ['Content-Type: message/rfc822', '', inner.toString('latin1')],
    ]);
  }
  return inner;
}

/**
 * A bounce of long lines made for backtracking regexes: a run of bullets before a word (a lead
 * that can be split every way), a sender label before a run of spaces, and hundreds of addresses
 * on one line.
 */
function longLines(size: number): Buffer {
  const addresses = Array.from({ length: 300 }, (_, i) => `r${i}@example.com`).join(' ');
  const block = ['-'.repeat(2000) + ` x ${addresses}`, `A message sent by${' '.repeat(2000)}.`, ` ${addresses}`];
  return message(
    [FROM_DAEMON, TO_BOUNCES, 'Subject: Returned mail: see transcript for details'],
    [
      'The original message was received at Mon, 30 Nov 2026 07:00:00 +0000',
      '',
      ...linesOf(size, (i) => block[i % 3]!),
    ],
  );
}

/**
 * A McAfee gateway DSN (its format has phrases of its own) whose recipients' diagnostics are
 * what those phrases backtrack over: "user (" and "550 <" before runs of '@' with no end.
 */
function formatPhrases(size: number): Buffer {
  const runs = (opening: string) => [` ${opening}a`, ...Array.from({ length: 5 }, () => ` ${'@a.'.repeat(25)}`)];
  const diagnostic = ['Diagnostic-Code: smtp;', ...runs('550 <'), ...runs('user (')];
  const group = (i: number) => [`Final-Recipient: rfc822; r${i}@example.com`, 'Action: failed', ...diagnostic, ''];
  const groups = linesOf(size, (i) => group(i).join(CRLF));
  return report(
    ['From: postmaster@gw.example.net', TO_BOUNCES, 'Subject: Delivery Status', 'X-NAI-Header: Modified by McAfee'],
    'M',
    [
      ['Content-Type: text/plain', '', 'Your message could not be delivered.', ''],
      ['Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; gw.example.net', '', ...groups],
    ],
  );
}

/** One of each hostile kind, each about `sizeBytes` long. */
export function hostileReports(sizeBytes: number): HostileReport[] {
  return [
    { name: 'short-lines', raw: shortLines(sizeBytes) },
    { name: 'long-word', raw: longWord(sizeBytes) },
    { name: 'many-recipients', raw: manyRecipients(sizeBytes) },
    { name: 'many-parts', raw: manyParts(sizeBytes) },
    { name: 'header-lines', raw: headerLines(sizeBytes) },
    { name: 'text-recipients', raw: textRecipients(sizeBytes) },
    { name: 'nested-reports', raw: nestedReports(sizeBytes) },
    { name: 'long-lines', raw: longLines(sizeBytes) },
    { name: 'format-phrases', raw: formatPhrases(sizeBytes) },
  ];
}
