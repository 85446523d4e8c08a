import type { BounceRule } from './bounce-rule.ts';
import type { ScrapedFailure } from './text-report.ts';

/**
 * Reports of some mail systems are recognisable by their headers or wording, and those systems
 * say "no such user" in words of their own, often without any code or SMTP stage. Each format
 * here carries its recognition and its own phrase table (the per-system knowledge of Sisimai's
 * Lhost/ and MDA parsers, BSD-licensed), checked before the general rule table.
 */
export interface ReportClues {
  header: (name: string) => string | undefined;
  /** Every value of a header (Received). */
  headers: (name: string) => string[];
  subject: string;
  /** The raw From header, display name included. */
  from: string;
  /** The report's own words, without the returned original. */
  text: string;
}

export interface ReportFormat {
  name: string;
  detect: (clues: ReportClues) => boolean;
  /** The system's own wording for its verdicts; matched on the recipient's diagnostic. */
  rules?: readonly BounceRule[];
  /** The SMTP command a recipient's refusal came at, when the format implies it. */
  command?: (diagnostic: string) => string | undefined;
  /** A verdict the format states in a recipient's delivery-status fields. */
  groupVerdict?: (field: (name: string) => string | undefined) => BounceRule | undefined;
  /** The failed addresses of a report without a delivery-status part, when the format places them its own way. */
  recipients?: (text: string) => ScrapedFailure[];
  /** The line of the report that carries the verdict, when it is not beside the address. */
  verdictLine?: (text: string) => string | undefined;
}

const hard = (reason: string, phrase?: RegExp): BounceRule => ({
  reason,
  decision: 'hard',
  ...(phrase ? { phrase } : {}),
});
const soft = (reason: string, phrase?: RegExp): BounceRule => ({
  reason,
  decision: 'soft',
  ...(phrase ? { phrase } : {}),
});
const sender = (reason: string, phrase?: RegExp): BounceRule => ({
  reason,
  decision: 'sender',
  ...(phrase ? { phrase } : {}),
});

// PowerMTA classifies each failure itself (X-PowerMTA-BounceCategory); the rest are soft.
const POWERMTA_CATEGORIES: Readonly<Record<string, BounceRule>> = {
  'bad-domain': hard('host-unknown'),
  'bad-mailbox': hard('user-unknown'),
  'inactive-mailbox': soft('suspended'),
  'message-expired': soft('expired'),
  'no-answer-from-host': soft('network-error'),
  'policy-related': sender('policy'),
  'quota-issues': soft('mailbox-full'),
  'routing-errors': soft('system-error'),
  'spam-related': sender('spam'),
};

// A local delivery agent's own line ("mail.local: unknown user: x", "maildrop: maildir over quota.").
const MDA_LINE =
  /^(mail\.local|procmail|maildrop|vdelivermail|vdeliver): .*|^your message to \S+ was automatically rejected:.*$/im;

// Office 365 relays through Outlook.com's hosts but words its reports (and verdicts) its own way.
const OFFICE365_HOST = /.\.(outbound\.protection|prod)\.outlook\.com\b/;
const isOffice365 = (c: ReportClues) =>
  [
    c.subject.includes('Undeliverable:'),
    OFFICE365_HOST.test(c.header('message-id') ?? ''),
    c.headers('received').some((r) => OFFICE365_HOST.test(r)),
    ...[
      'x-ms-exchange-message-is-ndr',
      'x-microsoft-antispam-prvs',
      'x-exchange-antispam-report-test',
      'x-exchange-antispam-report-cfa-test',
      'x-ms-exchange-crosstenant-originalarrivaltime',
      'x-ms-exchange-crosstenant-fromentityheader',
      'x-ms-exchange-transport-crosstenantheadersstamped',
    ].map((name) => c.header(name) !== undefined),
  ].filter(Boolean).length >= 2;

// "… unknown recipient or mailbox unavailable -> 550 <a@b.c>: …": the rest of the line is the remote's reply.
const OFFICE365_UNKNOWN_RECIPIENT = /unknown recipient or mailbox unavailable ->(.+)/gi;

// Yahoo's "<a@b>:" heading line (spaces around it, not line breaks: a regex letting \s span
// lines rescans every blank line from each line start).
const YAHOO_HEADING = /^[^\S\r\n\u2028\u2029]*<[^<>\s]+>:[^\S\r\n\u2028\u2029]*$/m;

const LINE_BREAK = /\r\n|[\n\r\u2028\u2029]/;
const lastLine = (text: string) => text.split(LINE_BREAK).pop() ?? '';

/**
 * Whether a line of the text has a '<', then an '@', then a '>', each with something between
 * (/<.+@.+>/, but found with one look per line rather than a rescan from each '<' and '@').
 */
function quotesAddress(text: string): boolean {
  return text.split(LINE_BREAK).some((line) => {
    const open = line.indexOf('<');
    const at = open < 0 ? -1 : line.indexOf('@', open + 2);
    return at >= 0 && line.lastIndexOf('>') >= at + 2;
  });
}

const REPORT_FORMATS: readonly ReportFormat[] = [
  {
    // McAfee's e-mail gateway quotes the remote reply without stage or code.
    name: 'mcafee',
    detect: (c) => /modified by mcafee/i.test(c.header('x-nai-header') ?? '') && c.subject === 'Delivery Status',
    rules: [
      hard(
        'user-unknown',
        /user \([^()@]+@[^()]+\) unknown\.|550 unknown user \S+@\S+|550 <[^<>@]+@[^<>]+>\.+ user not exist|no such user/i,
      ),
    ],
  },
  {
    name: 'messagelabs',
    detect: (c) =>
      Boolean(c.header('x-msg-ref')) &&
      /mailer-daemon@messagelabs\.com/i.test(c.from) &&
      c.subject.startsWith('Mail Delivery Failure'),
    rules: [
      hard('user-unknown', /542 .{1,200}? rejected|no such user/i),
      sender('authentication', /please turn on smtp authentication in your mail client/i),
    ],
  },
  {
    // Hotmail/Outlook.com DSNs: "mailbox unavailable" is its directory's answer, not a filter's.
    name: 'outlook',
    detect: (c) =>
      !isOffice365(c) &&
      [
        c.subject.includes('Delivery Status Notification'),
        Boolean(c.header('x-message-delivery')),
        Boolean(c.header('x-message-info')),
        c.headers('received').some((r) => r.includes('.hotmail.com')),
      ].filter(Boolean).length >= 2,
    rules: [
      hard('host-unknown', /the mail could not be delivered to the recipient because the domain is not reachable/i),
      hard('user-unknown', /requested action not taken: mailbox unavailable/i),
    ],
  },
  {
    // Trend Micro InterScan: "Unable to deliver message to <a@b>" is its unknown-recipient verdict.
    name: 'interscan',
    detect: (c) =>
      /^"InterScan (MSS|Notification)"/.test(c.from) ||
      ['Mail could not be delivered', 'メッセージを配信できません。', 'メール配信に失敗しました'].includes(c.subject),
    rules: [hard('user-unknown', /unable to deliver message to/i)],
  },
  {
    // Amazon SES receiving rule sets bounce with their template texts, whatever the code.
    name: 'ses-receiving',
    // SES's sending-side bounces carry the same header but not this opening line.
    detect: (c) => Boolean(c.header('x-ses-outgoing')) && /^This message could not be delivered\./m.test(c.text),
    rules: [
      soft('filtered', /mailbox does not exist/i),
      soft('message-too-big', /message too large/i),
      soft('mailbox-full', /mailbox full/i),
      sender('spam', /message content rejected/i),
    ],
  },
  {
    // fml mailing-list server: the list refused the post ("You are not a member of this mailing
    // list <list@…>."); the address named is the list's, and the verdict about the sender.
    name: 'fml',
    detect: (c) => Boolean(c.header('x-mlserver')) && /-admin@/i.test(c.from),
    recipients: (text) =>
      text.split(/\r?\n/).flatMap((line) => {
        const address = /<([^\s<>]+)>\.\s*$/.exec(line)?.[1];
        return address && /.@./.test(address) ? [{ address, diagnostic: text.trim() }] : [];
      }),
    rules: [sender('list-refused')],
  },
  {
    name: 'powermta',
    detect: (c) => c.subject.includes('Delivery report'),
    groupVerdict: (field) => POWERMTA_CATEGORIES[(field('x-powermta-bouncecategory') ?? '').trim().toLowerCase()],
  },
  {
    // Office 365 states its verdict in the enhanced code (its published NDR code list).
    name: 'office365',
    detect: isOffice365,
    command: (diagnostic) =>
      [...diagnostic.matchAll(OFFICE365_UNKNOWN_RECIPIENT)].some((m) => /^.[^@]*@.+\.[a-z]/i.test(m[1]!))
        ? 'RCPT'
        : undefined,
    rules: [
      { reason: 'user-unknown', decision: 'hard', status: /^5\.1\.10$/ },
      { reason: 'not-accept', decision: 'hard', status: /^5\.7\.510$/ },
      // Its edge refuses a recipient its directory does not know this way, not a network fault.
      {
        reason: 'user-unknown',
        decision: 'hard',
        status: /^5\.4\.1$/,
        phrase: /recipient address rejected: access denied/i,
      },
      {
        reason: 'blocked',
        decision: 'sender',
        status:
          /^(4\.7\.(26|[56]\d\d|8[5-9]\d)|5\.7\.(1|1[23]|124|13[3-6]|23|25|50\d|51[12]|57|60[6-9]|6[1-4]\d|7[0-4]\d))$/,
      },
      {
        reason: 'network-error',
        decision: 'soft',
        status: /^(4\.4\.(7|312|316)|5\.0\.350|5\.4\.(1|6|312|316)|5\.6\.11)$/,
      },
    ],
  },
  {
    // Gmail's older reports end the remote reply with "(state N)": the SMTP stage it failed at.
    // A detailed code in the reply still decides (the general table), so these rows yield to one.
    name: 'gmail',
    detect: (c) =>
      /<mailer-daemon@googlemail\.com>/i.test(c.from) && c.subject.includes('Delivery Status Notification'),
    command: (diagnostic) =>
      (({ 6: 'MAIL', 13: 'EHLO', 14: 'RCPT', 15: 'DATA', 17: 'DATA', 18: 'DATA' }) as Record<string, string>)[
        /\(state (\d+)\)\./.exec(diagnostic)?.[1] ?? ''
      ],
    rules: [
      { reason: 'user-unknown', decision: 'hard', status: /^(?![45]\.[1-7]\.[1-9]$)/, phrase: /\(state 14\)\./ },
      { reason: 'filtered', decision: 'soft', status: /^(?![45]\.[1-7]\.[1-9]$)/, phrase: /\(state 1[578]\)\./ },
      soft(
        'expired',
        /dns error: could not contact dns servers|the recipient server did not accept our requests to connect/i,
      ),
    ],
  },
  {
    // Lotus Domino: a router that cannot route to the user refuses the mail, not the address.
    name: 'domino',
    detect: (c) => /^DELIVERY( |_)FAILURE:/.test(c.subject),
    rules: [soft('filtered', /cannot route mail to user/i)],
  },
  {
    // Ipswitch IMail heads each failure with its verdict.
    name: 'imail',
    detect: (c) => /^Undeliverable Mail\s*$/.test(c.subject) || (c.header('x-mailer') ?? '').startsWith('<SMTP32 v'),
    rules: [
      hard('user-unknown', /^\s*(unknown user|invalid final delivery userid)/i),
      hard('host-unknown', /unknown host/i),
    ],
  },
  {
    // Exim: its own words for a few verdicts, said without a remote reply (mail.ru is parsed alike
    // but uses other words, so it is left to the general table).
    name: 'exim',
    detect: (c) =>
      !/^[^@]*@.+\.mail\.ru>?$/i.test(lastLine(c.from)) &&
      [
        /^"?Mail Delivery System/.test(c.from),
        /^<\w{7}-\w{6}-\w{2}@/.test(c.header('message-id') ?? ''),
        /mail delivery failed(: returning message to sender)?|warning: message \S+ delayed|delivery status notification|mail failure|message frozen|error\(s\) in forwarding or filtering/i.test(
          c.subject,
        ),
      ].filter(Boolean).length >= 2,
    rules: [
      hard('user-unknown', /user not found/i),
      hard(
        'host-unknown',
        /all host address lookups failed permanently|all relevant mx records point to non-existent hosts|unrouteable address/i,
      ),
      hard('not-accept', /an mx or srv record indicated no smtp service|no host found for existing smtp connection/i),
      soft('mailbox-full', /mailbox is full|error: quota exceed/i),
      soft('mailer-error', /delivery to (file|pipe) forbidden|local delivery failed|lmtp error after /i),
    ],
  },
  {
    // qmail (and X4): "Sorry, no mailbox here by that name" is its own unknown-user verdict;
    // "does not like recipient" means the remote refused RCPT TO, whose words then decide.
    name: 'qmail',
    detect: (c) =>
      c.subject === 'failure notice' ||
      c.headers('received').some((r) => /^\(qmail\s+\d+\s+invoked\s+(for\s+bounce|from\s+network)\)/i.test(r)),
    command: (diagnostic) =>
      /does not like recipient/i.test(diagnostic)
        ? 'RCPT'
        : /no smtp connection got far enough; most progress was ([a-z]{4}) /i.exec(diagnostic)?.[1]?.toUpperCase(),
    rules: [
      hard('user-unknown', /no mailbox here by that name/i),
      soft('system-error', /requested action not taken: mailbox unavailable \(not enough free space\)/i),
    ],
  },
  {
    // Yahoo heads each failure with "<address>:"; the remote reply under it quotes the
    // recipient in <> only when it refused RCPT TO.
    name: 'yahoo',
    detect: (c) => Boolean(c.header('x-ymailisg')),
    command: (diagnostic) => (quotesAddress(diagnostic.replace(YAHOO_HEADING, '')) ? 'RCPT' : undefined),
  },
  {
    // Local delivery agents behind a Sendmail (mail.local, procmail, maildrop, vpopmail, vmailmgr, Dovecot).
    name: 'local-delivery-agent',
    detect: (c) => /^"?(mail delivery subsystem|mailer-daemon|postmaster)/i.test(c.from) && MDA_LINE.test(c.text),
    verdictLine: (text) => MDA_LINE.exec(text)?.[0],
    rules: [
      hard(
        'user-unknown',
        /mailbox doesn't exist: |: unknown user:|: user unknown|: invalid mailbox path|: user missing home directory|invalid user specified\.|cannot find system user|sorry, no mailbox here by that name\.|invalid or unknown (base|virtual) user|user name does not refer to a virtual user/i,
      ),
      soft('suspended', /account is locked email bounced|user does not exist, but will deliver to /i),
      soft(
        'mailbox-full',
        /quota exceeded|not enough disk space|disc quota exceeded|mailbox full|maildir over quota\.|domain is over quota|user is over quota|system quota violation/i,
      ),
      soft('system-error', /temporary file write error|no space left to finish writing/i),
    ],
  },
];

export function detectFormat(clues: ReportClues): ReportFormat | undefined {
  return REPORT_FORMATS.find((f) => f.detect(clues));
}
