import { describe, expect, it } from 'vitest';
import { classifyFailure, parseReport, ReportRefused } from '../../src/bounces/classify/parse-report.ts';

describe('classifyFailure', () => {
  it('when the refusal is about the sender (5.7.1 blocked), then it is a sender refusal', () => {
    expect(
      classifyFailure({
        status: '5.7.1',
        diagnostic: '550 5.7.1 Service unavailable; client host [192.0.2.1] blocked using bl.example.net',
      }),
    ).toEqual({ decision: 'sender', reason: 'blocked' });
  });
  it('when the message is refused as spam (554), then it is a sender refusal', () => {
    expect(classifyFailure({ diagnostic: '554 Message rejected: spam detected' })).toEqual({
      decision: 'sender',
      reason: 'spam',
    });
  });
  it('when DMARC refuses the sender under a 5.7.x code, then it is a sender refusal', () => {
    expect(
      classifyFailure({
        status: '5.7.26',
        diagnostic: "550 5.7.26 Unauthenticated email from example.org is not accepted due to domain's DMARC policy",
      }),
    ).toEqual({ decision: 'sender', reason: 'authentication' });
  });
  it.each([
    ['5.1.7', '553 5.1.7 The sender address <bounces+1@x> is not a valid RFC-5321 address'],
    ['5.1.8', '553 5.1.8 <bounces+1@bounce.example.org>... Domain of sender address does not exist'],
    [undefined, '550 5.1.8 Host unknown'],
  ])('when the code says the sender address is bad (%s), then it is a sender refusal', (status, diagnostic) => {
    expect(classifyFailure({ status, diagnostic }).decision).toBe('sender');
  });
  it.each([
    ['5.7.1', '554 5.7.1 <pia@example.com>: Recipient address rejected: Access denied', 'RCPT', 'policy'],
    [undefined, '421 4.7.28 Our system has detected an unusual rate of unsolicited mail', undefined, 'spam'],
    [undefined, '450 4.7.1 Client host rejected: too many connections, slow down', 'RCPT', 'rate-limited'],
    ['5.7.1', '550 5.7.1 Message rejected by policy', 'DATA', 'policy'],
    ['5.7.1', '550 5.7.1 No reason given', undefined, 'blocked'],
  ])(
    'when the relay answers %s "%s" at %s, then it is a sender refusal (%s)',
    (status, diagnostic, command, reason) => {
      expect(classifyFailure({ status, diagnostic, ...(command ? { command } : {}) })).toEqual({
        decision: 'sender',
        reason,
      });
    },
  );
  it('when greylisting was given up on, then it is a soft bounce about the mailbox', () => {
    expect(
      classifyFailure({
        action: 'failed',
        status: '4.7.1',
        diagnostic:
          '450 4.7.1 <ada@example.com>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/',
      }),
    ).toEqual({ decision: 'soft', reason: 'greylisted' });
  });
  it('when the mailbox does not exist (5.1.1), then it is a hard bounce', () => {
    expect(
      classifyFailure({
        status: '5.1.1',
        diagnostic: '550 5.1.1 The email account that you tried to reach does not exist.',
      }),
    ).toEqual({ decision: 'hard', reason: 'user-unknown' });
    expect(classifyFailure({ status: '5.1.1' })).toEqual({ decision: 'hard', reason: 'user-unknown' });
  });
  it('when "user unknown" comes at RCPT TO, then it is hard; after DATA with no address code, the reader is kept', () => {
    expect(
      classifyFailure({
        diagnostic: 'SMTP error from remote mail server after RCPT TO:<ada@example.com>: 550 User unknown',
      }),
    ).toEqual({ decision: 'hard', reason: 'user-unknown' });
    // Japanese carriers and content filters answer "user unknown" to mail they refuse.
    expect(
      classifyFailure({ diagnostic: 'SMTP error from remote mail server after end of data: 550 : User unknown' }),
    ).toEqual({ decision: 'soft', reason: 'filtered' });
  });
  it.each([
    ['5.7.1', '550-5.7.1 [192.0.2.1] Our system has detected that this message is likely unsolicited mail.'],
    [
      undefined,
      '421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints',
    ],
    [undefined, '550 5.7.606 Access denied, banned sending IP [192.0.2.1]'],
    ['5.3.0', '553 5.3.0 flpd575 DNSBL:RBL 521< 192.0.2.1 >_is_blocked'],
    ['5.1.0', '550 5.1.0 Sender rejected'],
    ['5.2.0', '550 5.2.0 Mail rejete. Mail rejected. ofr_506 [506]'],
    ['5.1.1', '550 5.1.1 <ada@example.com> - 203.0.113.222 has sent to too many recipients this hour. IB607'],
  ])('when a provider refuses the sender (%s %s), then it is a sender refusal', (status, diagnostic) => {
    expect(classifyFailure({ status, diagnostic }).decision).toBe('sender');
  });
  it('when Orange or I.UA number their verdict "no such mailbox", then it is hard even without an address code', () => {
    expect(classifyFailure({ status: '5.0.0', diagnostic: '550 5.0.0 Mail rejete. ofr_416 [416]' })).toEqual({
      decision: 'hard',
      reason: 'user-unknown',
    });
    expect(classifyFailure({ diagnostic: '550 Message was not accepted -- http://mail.i.ua/err/2/' })).toEqual({
      decision: 'hard',
      reason: 'user-unknown',
    });
    expect(classifyFailure({ diagnostic: '550 Message was not accepted -- http://mail.i.ua/err/3/' }).decision).toBe(
      'soft',
    );
  });
  it('when a full mailbox comes with a permanent code, then the reader is kept', () => {
    expect(classifyFailure({ status: '5.2.2', diagnostic: '552 5.2.2 Mailbox full' }).decision).toBe('soft');
  });
  it('when the domain has no mail server permanently, then it is hard; when the DNS error is temporary, soft', () => {
    expect(classifyFailure({ status: '5.1.2', diagnostic: 'Host or domain name not found' }).decision).toBe('hard');
    expect(classifyFailure({ status: '4.0.0', diagnostic: 'DNS Error: Domain name not found' }).decision).toBe('soft');
  });
  it('when the report only says the delivery is delayed, then it is a delay', () => {
    expect(classifyFailure({ action: 'delayed', status: '4.4.7' })).toEqual({ decision: 'delayed', reason: 'delayed' });
    expect(classifyFailure({ action: 'relayed', status: '2.0.0' })).toEqual({ decision: 'delayed', reason: 'relayed' });
  });
  it.each([
    'This is the mail system at host mx.example.net. ####### THIS IS A WARNING ONLY. YOU DO NOT NEED TO RESEND YOUR MESSAGE. ####### Delivery attempts will continue to be made',
    'Warning: message still undelivered after 4 hours. Will keep trying until message is 5 days old',
  ])('when a warning says the server is still trying ("%s"), then it is a delay', (diagnostic) => {
    expect(classifyFailure({ status: '4.4.1', diagnostic }).decision).toBe('delayed');
  });
});

const dsn = [
  'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
  'To: bounces+s1.abc@papers.example.org',
  'Subject: Undelivered Mail Returned to Sender',
  'Message-ID: <report-1@mx.example.net>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
  '',
  '--B',
  'Content-Type: text/plain',
  '',
  '<ada@example.com>: host mx.example.com said: 550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown',
  '',
  '--B',
  'Content-Type: message/delivery-status',
  '',
  'Reporting-MTA: dns; mx.example.net',
  '',
  'Final-Recipient: rfc822; ada@example.com',
  'Original-Recipient: rfc822;ada@example.com',
  'Action: failed',
  'Status: 5.1.1',
  'Diagnostic-Code: smtp; 550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown',
  '',
  'Final-Recipient: rfc822; bob@example.com',
  'Action: failed',
  'Status: 5.7.1',
  'Diagnostic-Code: smtp; 554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using b.barracudacentral.org',
  '',
  '--B',
  'Content-Type: text/rfc822-headers',
  '',
  'From: Paperboy <digest@papers.example.org>',
  'To: ada@example.com',
  'Subject: Trending papers',
  'Message-ID: <digest.2026-11-29.42@papers.example.org>',
  'List-Unsubscribe: <https://papers.example.org/u/tok123>, <mailto:unsubscribe@papers.example.org?subject=tok123>',
  '',
  '--B--',
  '',
].join('\r\n');

describe('parseReport', () => {
  it('when a DSN returns the original headers, then each recipient is classified and the original is identified', async () => {
    const report = await parseReport(dsn);
    expect(report.kind).toBe('dsn');
    expect(report.recipients).toEqual([
      expect.objectContaining({
        address: 'ada@example.com',
        status: '5.1.1',
        action: 'failed',
        decision: 'hard',
        reason: 'user-unknown',
      }),
      expect.objectContaining({ address: 'bob@example.com', status: '5.7.1', decision: 'sender', reason: 'blocked' }),
    ]);
    expect(report.envelopeTo).toEqual(['bounces+s1.abc@papers.example.org']);
    expect(report.originalMessageId).toBe('digest.2026-11-29.42@papers.example.org');
    expect(report.originalListUnsubscribe).toEqual([
      'https://papers.example.org/u/tok123',
      'mailto:unsubscribe@papers.example.org?subject=tok123',
    ]);
    expect(report.messageId).toBe('<report-1@mx.example.net>');
  });

  it('when an ARF abuse report arrives, then its recipient is a complaint; an auth-failure report is ignored', async () => {
    const arf = (type: string) =>
      [
        'From: fbl@isp.example',
        'To: fbl@papers.example.org',
        'Subject: Abuse report',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=feedback-report; boundary="F"',
        '',
        '--F',
        'Content-Type: text/plain',
        '',
        'This is an email abuse report.',
        '',
        '--F',
        'Content-Type: message/feedback-report',
        '',
        `Feedback-Type: ${type}`,
        'User-Agent: FBL/1.0',
        'Version: 1',
        'Original-Rcpt-To: <cy@example.com>',
        '',
        '--F',
        'Content-Type: message/rfc822',
        '',
        'From: digest@papers.example.org',
        'To: cy@example.com',
        'Message-ID: <digest.2026-11-29.7@papers.example.org>',
        'Subject: Papers',
        '',
        'Hello',
        '',
        '--F--',
        '',
      ].join('\r\n');
    const abuse = await parseReport(arf('abuse'));
    expect(abuse).toMatchObject({
      kind: 'arf',
      feedbackType: 'abuse',
      originalMessageId: 'digest.2026-11-29.7@papers.example.org',
    });
    expect(abuse.recipients).toEqual([{ address: 'cy@example.com', decision: 'complaint', reason: 'feedback' }]);
    const dmarc = await parseReport(arf('auth-failure'));
    expect(dmarc.recipients).toEqual([{ address: 'cy@example.com', decision: 'ignore', reason: 'auth-failure' }]);
  });

  it("when a feedback-loop report hides the recipient, then the returned original's Return-Path is given", async () => {
    const report = await parseReport(
      [
        'From: feedbackloop@isp.example',
        'To: fbl@papers.example.org',
        'Subject: complaint about message from 192.0.2.7',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=feedback-report; boundary="J"',
        '',
        '--J',
        'Content-Type: message/feedback-report',
        '',
        'Feedback-Type: abuse',
        'Version: 1',
        '',
        '--J',
        'Content-Type: message/rfc822',
        '',
        'Return-Path: <bounces+s1.k2Vd@papers.example.org>',
        'From: digest@papers.example.org',
        'To: [redacted]',
        'Message-ID: <digest.2026-11-29.8@papers.example.org>',
        '',
        'Hello',
        '',
        '--J--',
        '',
      ].join('\r\n'),
    );
    expect(report).toMatchObject({
      kind: 'arf',
      recipients: [],
      originalReturnPath: 'bounces+s1.k2Vd@papers.example.org',
      originalMessageId: 'digest.2026-11-29.8@papers.example.org',
    });
  });

  it('when a relay returns a DSN inside its own report, then the inner recipients are read; nested deeper than the cap, the report is refused', async () => {
    // Each level in base64, so only reading it finds the one inside.
    const wrap = (inner: string, boundary: string) =>
      [
        'From: MAILER-DAEMON@relay.example.net',
        'To: bounces@papers.example.org',
        'Subject: Returned mail',
        'MIME-Version: 1.0',
        `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
        '',
        `--${boundary}`,
        'Content-Type: message/rfc822',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from(inner).toString('base64'),
        `--${boundary}--`,
        '',
      ].join('\r\n');
    const nested = (depth: number) => Array.from({ length: depth }, (_, i) => `W${i}`).reduce(wrap, dsn);
    expect((await parseReport(nested(3))).recipients).toEqual([
      expect.objectContaining({ address: 'ada@example.com', decision: 'hard' }),
      expect.objectContaining({ address: 'bob@example.com', decision: 'sender' }),
    ]);
    const refused: unknown = await parseReport(nested(4)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ReportRefused);
    expect(refused).toMatchObject({ cap: 'depth' });
  });

  it('when mailparser cannot read a message (a header over its size limit), then its own error comes out', async () => {
    const error: unknown = await parseReport(
      `From: a@example.com\r\nX-Big: ${'a'.repeat(1_100_000)}\r\n\r\nx\r\n`,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ReportRefused);
  });

  it('when an out-of-office reply arrives, then it is an auto-reply to ignore', async () => {
    const reply = await parseReport(
      [
        'From: Dana <dana@example.com>',
        'To: digest@papers.example.org',
        'Subject: Out of Office: Trending papers',
        'Auto-Submitted: auto-replied',
        'Content-Type: text/plain',
        '',
        'I am away until Monday.',
        '',
      ].join('\r\n'),
    );
    expect(reply.kind).toBe('autoreply');
    expect(reply.recipients).toEqual([{ address: 'dana@example.com', decision: 'ignore', reason: 'vacation' }]);
  });

  it('when a qmail bounce has no DSN part, then the address and the server words are read from its text', async () => {
    const report = await parseReport(
      [
        'From: MAILER-DAEMON@mx.example.com',
        'To: bounces@papers.example.org',
        'Subject: failure notice',
        '',
        'Hi. This is the qmail-send program at mx.example.com.',
        "I'm afraid I wasn't able to deliver your message to the following addresses.",
        '',
        '<eve@example.com>:',
        'Sorry, no mailbox here by that name. (#5.1.1)',
        '',
        '--- Below this line is a copy of the message.',
        '',
        'Return-Path: <bounces@papers.example.org>',
        'Message-ID: <digest.2026-11-29.9@papers.example.org>',
        'To: eve@example.com',
        '',
        'Hello',
        '',
      ].join('\n'),
    );
    expect(report.recipients).toEqual([
      expect.objectContaining({ address: 'eve@example.com', decision: 'hard', reason: 'user-unknown' }),
    ]);
    expect(report.originalMessageId).toBe('digest.2026-11-29.9@papers.example.org');
  });

  it('when a mail system says "no such user" in its own words, then its format decides; the same words elsewhere keep the reader', async () => {
    const outlook = (headers: string[]) =>
      [
        'From: postmaster@hotmail.example.com',
        'To: bounces@papers.example.org',
        'Subject: Delivery Status Notification (Failure)',
        ...headers,
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="O"',
        '',
        '--O',
        'Content-Type: text/plain',
        '',
        'This is an automatically generated Delivery Status Notification.',
        '',
        '--O',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns;bay0-omc1-s2.bay0.hotmail.example.com',
        '',
        'Final-Recipient: rfc822;fay@hotmail.example.com',
        'Action: failed',
        'Status: 5.5.0',
        'Diagnostic-Code: smtp;550 Requested action not taken: mailbox unavailable (-2:2:-2)',
        '',
        '--O--',
        '',
      ].join('\r\n');
    expect(
      (await parseReport(outlook(['X-Message-Delivery: Vj0xLjE7', 'X-Message-Info: 6sSXyD95']))).recipients,
    ).toEqual([
      expect.objectContaining({ address: 'fay@hotmail.example.com', decision: 'hard', reason: 'user-unknown' }),
    ]);
    // Without the Outlook marks the same words after an unknown stage are a generic refusal.
    expect((await parseReport(outlook([]))).recipients).toEqual([expect.objectContaining({ decision: 'soft' })]);
  });

  it('when a local delivery agent names the user unknown in a Sendmail report, then it is hard', async () => {
    const report = await parseReport(
      [
        'From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>',
        'To: <bounces@papers.example.org>',
        'Subject: Returned mail: Service unavailable',
        '',
        '   ----- The following addresses had permanent fatal errors -----',
        '<gil@example.net>',
        '',
        '   ----- Transcript of session follows -----',
        'mail.local: unknown user: gil',
        '554 <gil@example.net>... Service unavailable',
        '',
      ].join('\n'),
    );
    expect(report.recipients).toEqual([
      expect.objectContaining({ address: 'gil@example.net', decision: 'hard', reason: 'user-unknown' }),
    ]);
  });

  it('when Yahoo quotes the recipient in the remote reply, then the refusal was at RCPT TO and is hard; without it, soft', async () => {
    const yahoo = (reply: string) =>
      parseReport(
        [
          'From: MAILER-DAEMON@yahoo.example.com',
          'To: bounces@papers.example.org',
          'Subject: Failure Notice',
          'X-YMailISG: abc',
          '',
          'Sorry, we were unable to deliver your message to the following address.',
          '',
          '<hal@example.jp>:',
          reply,
          '',
          '--- Below this line is a copy of the message.',
          '',
          'To: hal@example.jp',
          'Subject: Papers',
          '',
          'Hello',
          '',
        ].join('\n'),
      );
    expect((await yahoo('550: <hal@example.jp>: User unknown')).recipients).toEqual([
      expect.objectContaining({ decision: 'hard', reason: 'user-unknown' }),
    ]);
    expect((await yahoo('550: : User unknown')).recipients).toEqual([
      expect.objectContaining({ decision: 'soft', reason: 'filtered' }),
    ]);
  });

  it('when "5.2.1 user unknown" has no stage it is soft; the human part saying RCPT TO, or PowerMTA\'s category, makes it hard', async () => {
    const report = (subject: string, human: string, extra: string[]) =>
      parseReport(
        [
          'From: MAILER-DAEMON@mx.example.net',
          'To: bounces@papers.example.org',
          `Subject: ${subject}`,
          'MIME-Version: 1.0',
          'Content-Type: multipart/report; report-type=delivery-status; boundary="P"',
          '',
          '--P',
          'Content-Type: text/plain',
          '',
          human,
          '',
          '--P',
          'Content-Type: message/delivery-status',
          '',
          'Reporting-MTA: dns; mx.example.net',
          '',
          'Final-Recipient: rfc822; ivy@example.jp',
          'Action: failed',
          'Status: 5.2.1',
          'Diagnostic-Code: smtp; 550 5.2.1 <ivy@example.jp>... User Unknown',
          ...extra,
          '',
          '--P--',
          '',
        ].join('\r\n'),
      );
    const decisionOf = async (r: ReturnType<typeof report>) => (await r).recipients[0]?.decision;
    expect(await decisionOf(report('Undelivered Mail', 'Your message could not be delivered.', []))).toBe('soft');
    expect(
      await decisionOf(
        report(
          'Undelivered Mail',
          '<ivy@example.jp>: host mx.example.jp said: 550 5.2.1\n    <ivy@example.jp>... User Unknown (in reply to RCPT TO command)',
          [],
        ),
      ),
    ).toBe('hard');
    expect(
      await decisionOf(
        report('Delivery report', 'Hello, this is the mail server on mx.example.net.', [
          'X-PowerMTA-BounceCategory: bad-mailbox',
        ]),
      ),
    ).toBe('hard');
    expect(
      await decisionOf(
        report('Delivery report', 'Hello, this is the mail server on mx.example.net.', [
          'X-PowerMTA-BounceCategory: spam-related',
        ]),
      ),
    ).toBe('sender');
  });

  it("when the failed address listed under Exim's heading is also the report's addressee, then it is still the failed recipient", async () => {
    const report = await parseReport(
      [
        'From: "Mail Delivery System" <mailer-daemon@mx.example.de>',
        'To: jo@example.fr',
        'Subject: Mail delivery failed: returning message to sender',
        '',
        'A message that you sent could not be delivered to one or more of',
        'its recipients. This is a permanent error. The following address(es)',
        'failed:',
        '',
        'jo@example.fr:',
        'SMTP error from remote server for TEXT command, host: smtp-in.example.fr reason: 550 5.2.0 Mail rejected. spam',
        '',
        '--- The header of the original message is following. ---',
        '',
        'From: <jo@example.fr>',
        'To: kim@example.com',
        'Subject: x',
        '',
      ].join('\n'),
    );
    expect(report.recipients).toEqual([expect.objectContaining({ address: 'jo@example.fr', decision: 'sender' })]);
  });

  it('when an fml list server refuses a post, then the list address is reported as refusing the sender', async () => {
    const report = await parseReport(
      [
        'From: list-admin@example.org',
        'To: ann@example.net',
        'Subject: You ann@example.net are not member (list ML)',
        'X-MLServer: fml [fml 4.0.3]',
        '',
        'You are not a member of this mailing list <list@example.org>.',
        '',
        'send mail with the body guide to the address',
        '',
        '\tlist-ctl@example.org',
        '',
      ].join('\n'),
    );
    expect(report.recipients).toEqual([
      expect.objectContaining({ address: 'list@example.org', decision: 'sender', reason: 'list-refused' }),
    ]);
  });

  it.each([
    [
      'qmail',
      ['From: MAILER-DAEMON@mx.example.com', 'Subject: failure notice'],
      ['<joy@example.com>:', 'Sorry, no mailbox here by that name.'],
    ],
    [
      'Exim',
      [
        'From: Mail Delivery System <Mailer-Daemon@mx.example.com>',
        'Subject: Mail delivery failed: returning message to sender',
      ],
      ['  joy@example.com', '    user not found'],
    ],
  ])('when %s gives its own unknown-user words without a code, then it is hard', async (_name, head, body) => {
    const report = await parseReport(
      [
        ...head,
        'To: bounces@papers.example.org',
        '',
        'This is the mail system at mx.example.com.',
        '',
        ...body,
        '',
      ].join('\n'),
    );
    expect(report.recipients).toEqual([
      expect.objectContaining({ address: 'joy@example.com', decision: 'hard', reason: 'user-unknown' }),
    ]);
  });

  it('when Office 365 says 5.7.510 (the domain takes no mail), then it is hard, though other 5.7.x codes keep the reader', async () => {
    const office365 = (status: string) =>
      parseReport(
        [
          'From: postmaster@example.onmicrosoft.com',
          'To: bounces@papers.example.org',
          'Subject: Undeliverable: Trending papers',
          'X-MS-Exchange-Message-Is-Ndr: ',
          'X-Microsoft-Antispam-PRVS: <x@y>',
          'MIME-Version: 1.0',
          'Content-Type: multipart/report; report-type=delivery-status; boundary="M"',
          '',
          '--M',
          'Content-Type: text/plain',
          '',
          'Delivery has failed to these recipients or groups:',
          '',
          '--M',
          'Content-Type: message/delivery-status',
          '',
          'Reporting-MTA: dns;AM0PR01MB.eurprd01.prod.outlook.com',
          '',
          'Final-Recipient: rfc822;lee@example.com',
          'Action: failed',
          `Status: ${status}`,
          `Diagnostic-Code: smtp;550 ${status} Access denied`,
          '',
          '--M--',
          '',
        ].join('\r\n'),
      );
    expect((await office365('5.7.510')).recipients).toEqual([
      expect.objectContaining({ decision: 'hard', reason: 'not-accept' }),
    ]);
    expect((await office365('5.7.509')).recipients).toEqual([expect.objectContaining({ decision: 'sender' })]);
  });

  it('when nothing in a message names a recipient, then the list is empty and the kind is still set', async () => {
    const report = await parseReport(
      'From: someone@example.com\r\nTo: digest@papers.example.org\r\nSubject: hello\r\n\r\nJust saying hi.\r\n',
    );
    expect(report).toMatchObject({ kind: 'unknown', recipients: [] });
  });
});
