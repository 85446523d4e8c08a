import { describe, expect, it } from 'vitest';
import { parseReport } from '../../src/bounces/classify/parse-report.ts';

/**
 * Kinds of report the classifier is built to read, each written here from the format's
 * documentation or the standard (not copied from a corpus file).
 */
const message = (headers: string[], body: string) => [...headers, '', body].join('\r\n');

const FROM_DAEMON = 'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>';

/** A message/delivery-status report (RFC 3464) for one recipient. */
function dsn(recipient: string, status: string, diagnostic: string): string {
  return message(
    [
      FROM_DAEMON,
      'To: bounces@bounce.example.org',
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
    ],
    [
      '--b1',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'Your message could not be delivered.',
      '',
      '--b1',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.net',
      '',
      `Final-Recipient: rfc822; ${recipient}`,
      'Action: failed',
      `Status: ${status}`,
      `Diagnostic-Code: smtp; ${diagnostic}`,
      '',
      '--b1--',
      '',
    ].join('\r\n'),
  );
}

const decisions = async (raw: string | Buffer) =>
  (await parseReport(raw)).recipients.map((r) => ({ address: r.address, decision: r.decision }));

/** Amazon SES's notification as SNS mails it to an e-mail subscription: the JSON, then SNS's footer. */
function sesByEmail(notification: object, wrapped: boolean): string {
  const json = JSON.stringify(notification, null, 2);
  const body = wrapped
    ? JSON.stringify({
        Type: 'Notification',
        MessageId: 'a1b2c3',
        TopicArn: 'arn:aws:sns:eu-west-1:123456789012:ses-feedback',
        Message: json,
        UnsubscribeURL:
          'https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:123456789012:ses-feedback:42&Endpoint=ops@papers.example.org',
      })
    : `${json}\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link below to unsubscribe:\nhttps://sns.eu-west-1.amazonaws.com/unsubscribe.html?SubscriptionArn=arn:aws:sns:eu-west-1:123456789012:ses-feedback:42&Endpoint=ops@papers.example.org\n\nPlease do not reply directly to this email. If you have any questions or comments regarding this email, please contact us at https://aws.amazon.com/support`;
  return message(
    [
      'From: AWS Notifications <no-reply@sns.amazonaws.com>',
      'To: ops@papers.example.org',
      'Subject: AWS Notification Message',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
    ],
    body,
  );
}

const SES_MAIL = {
  timestamp: '2026-11-24T06:00:00.000Z',
  source: 'bounces+7-20261124-abcdefghijklmnop@bounce.papers.example.org',
  messageId: '0102018f-ses-id',
  destination: ['ada@example.com'],
  commonHeaders: { messageId: '<digest-7@papers.example.org>', subject: 'Trending papers' },
};

/** Characters to bytes in a Japanese charset, found by asking the platform's decoder about each code. */
function japaneseEncoder(charset: 'iso-2022-jp' | 'shift_jis'): (text: string) => Buffer {
  const table = new Map<string, number[]>();
  const decoder = new TextDecoder(charset);
  if (charset === 'iso-2022-jp') {
    for (let a = 0x21; a <= 0x7e; a++)
      for (let b = 0x21; b <= 0x7e; b++) {
        const c = decoder.decode(Uint8Array.from([0x1b, 0x24, 0x42, a, b, 0x1b, 0x28, 0x42]));
        if (c.length === 1 && !table.has(c)) table.set(c, [a, b]);
      }
  } else {
    for (const a of [...Array(0x1f).keys()].map((i) => 0x81 + i).concat([...Array(0x10).keys()].map((i) => 0xe0 + i)))
      for (let b = 0x40; b <= 0xfc; b++) {
        const c = decoder.decode(Uint8Array.from([a, b]));
        if (c.length === 1 && c !== '\ufffd' && !table.has(c)) table.set(c, [a, b]);
      }
  }
  return (text) => {
    const bytes: number[] = [];
    let kanji = false;
    for (const c of text) {
      const code = table.get(c);
      if (!code) {
        if (kanji && charset === 'iso-2022-jp') bytes.push(0x1b, 0x28, 0x42);
        kanji = false;
        bytes.push(c.charCodeAt(0));
        continue;
      }
      if (!kanji && charset === 'iso-2022-jp') bytes.push(0x1b, 0x24, 0x42);
      kanji = true;
      bytes.push(...code);
    }
    if (kanji && charset === 'iso-2022-jp') bytes.push(0x1b, 0x28, 0x42);
    return Buffer.from(bytes);
  };
}

// A Japanese mail system's report: the address, and "this e-mail address does not exist" in Japanese.
const JAPANESE_REPORT =
  'メールを配信できませんでした。\r\n\r\n<taro@example.jp>\r\n宛先のメールアドレスは存在しません。\r\n';

function japaneseReport(charset: 'iso-2022-jp' | 'shift_jis', labelled: boolean): Buffer {
  const headers = message(
    [
      'From: MAILER-DAEMON@mail.example.jp',
      'To: bounces@bounce.example.org',
      'Subject: Returned mail',
      'MIME-Version: 1.0',
      labelled
        ? `Content-Type: text/plain; charset=${charset === 'shift_jis' ? 'Shift_JIS' : 'ISO-2022-JP'}`
        : 'X-Mailer: carrier-mta',
      `Content-Transfer-Encoding: ${charset === 'shift_jis' ? '8bit' : '7bit'}`,
    ],
    '',
  );
  return Buffer.concat([Buffer.from(headers, 'latin1'), japaneseEncoder(charset)(JAPANESE_REPORT)]);
}

describe('reports the classifier reads by their format', () => {
  it('when Amazon SES mails a bounce notification, then its bounced recipients are read from the JSON, never from the unsubscribe URL', async () => {
    const notification = {
      notificationType: 'Bounce',
      bounce: {
        feedbackId: 'f1',
        bounceType: 'Permanent',
        bounceSubType: 'General',
        bouncedRecipients: [
          {
            emailAddress: 'ada@example.com',
            action: 'failed',
            status: '5.1.1',
            diagnosticCode: 'smtp; 550 5.1.1 user unknown',
          },
        ],
        timestamp: '2026-11-24T06:00:01.000Z',
      },
      mail: SES_MAIL,
    };
    for (const wrapped of [false, true]) {
      const report = await parseReport(sesByEmail(notification, wrapped));
      expect(report.recipients.map((r) => ({ address: r.address, decision: r.decision }))).toEqual([
        { address: 'ada@example.com', decision: 'hard' },
      ]);
      expect(report.originalMessageId).toBe('digest-7@papers.example.org');
      expect(report.originalReturnPath).toBe(SES_MAIL.source);
    }
  });

  it('when Amazon SES mails a complaint notification, then its complained recipient is a complaint', async () => {
    const notification = {
      notificationType: 'Complaint',
      complaint: {
        feedbackId: 'f2',
        complainedRecipients: [{ emailAddress: 'bob@example.com' }],
        complaintFeedbackType: 'abuse',
        timestamp: '2026-11-24T07:00:00.000Z',
      },
      mail: SES_MAIL,
    };
    const report = await parseReport(sesByEmail(notification, false));
    expect(report.kind).toBe('arf');
    expect(report.recipients.map((r) => ({ address: r.address, decision: r.decision }))).toEqual([
      { address: 'bob@example.com', decision: 'complaint' },
    ]);
  });

  it.each([
    ['ISO-2022-JP', 'iso-2022-jp', true],
    ['Shift_JIS', 'shift_jis', true],
    ['unlabelled JIS', 'iso-2022-jp', false],
    ['unlabelled 8-bit Shift_JIS', 'shift_jis', false],
  ] as const)(
    'when a report is written in %s, then its words are decoded and read',
    async (_name, charset, labelled) => {
      expect(await decisions(japaneseReport(charset, labelled))).toEqual([
        { address: 'taro@example.jp', decision: 'hard' },
      ]);
    },
  );

  it.each(['5.0.0', '5.1.1'])(
    'when "User unknown" comes after DATA with no code of its own (Status %s), then the reader is kept: a filter may say so',
    async (status) => {
      const raw = dsn('ada@example.com', status, '550 User unknown').replace(
        'Your message could not be delivered.',
        '<ada@example.com>: host mx.example.com[192.0.2.2] said: 550 User unknown (in reply to end of DATA command)',
      );
      expect(await parseReport(raw)).toMatchObject({
        recipients: [{ address: 'ada@example.com', decision: 'soft', reason: 'filtered' }],
      });
    },
  );

  it('when Microsoft\'s edge refuses an unknown recipient with 5.4.1 "Access denied", then it is hard', async () => {
    const raw = dsn(
      'ada@contoso.example',
      '5.4.1',
      '550 5.4.1 Recipient address rejected: Access denied. [AM0PR01MB1234.eurprd01.prod.exchangelabs.com]',
    );
    expect(await decisions(raw)).toEqual([{ address: 'ada@contoso.example', decision: 'hard' }]);
  });

  it.each([['all relevant MX records point to non-existent hosts'], ['Unrouteable address']])(
    'when Exim says "%s", then the domain is unknown: hard',
    async (words) => {
      const raw = message(
        [
          'From: Mail Delivery System <Mailer-Daemon@mx.example.net>',
          'To: bounces@bounce.example.org',
          'Subject: Mail delivery failed: returning message to sender',
          'X-Failed-Recipients: ada@nowhere.example',
        ],
        [
          'This message was created automatically by mail delivery software.',
          '',
          'A message that you sent could not be delivered to one or more of its',
          'recipients. This is a permanent error. The following address(es) failed:',
          '',
          '  ada@nowhere.example',
          `    ${words}`,
          '',
        ].join('\r\n'),
      );
      expect(await decisions(raw)).toEqual([{ address: 'ada@nowhere.example', decision: 'hard' }]);
    },
  );

  it('when an old Sendmail says "Host unknown (Name server: …: host not found)", then it is hard', async () => {
    const raw = message(
      [
        'From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>',
        'To: bounces@bounce.example.org',
        'Subject: Returned mail: Host unknown (Name server: nowhere.example: host not found)',
      ],
      [
        '   ----- Transcript of session follows -----',
        '550 ada@nowhere.example... Host unknown (Name server: nowhere.example: host not found)',
        '',
      ].join('\r\n'),
    );
    expect(await decisions(raw)).toEqual([{ address: 'ada@nowhere.example', decision: 'hard' }]);
  });

  it.each([
    ['5.1.7', '550 5.1.7 Invalid address'],
    ['5.1.8', '553 5.1.8 Invalid address'],
    ['5.7.26', '550 5.7.26 Multiple authentication checks failed'],
  ])(
    'when the reply quotes the sender-side code %s under an address status, then it is a sender refusal',
    async (_code, reply) => {
      expect(await decisions(dsn('ada@example.com', '5.1.1', reply))).toEqual([
        { address: 'ada@example.com', decision: 'sender' },
      ]);
    },
  );

  it('when a report of an unknown format is marked auto-submitted, then it is still read as a failure, not an auto-reply', async () => {
    const raw = message(
      [
        'From: Mail Gateway <gateway@mx.example.net>',
        'To: bounces@bounce.example.org',
        'Subject: Notification',
        'Auto-Submitted: auto-replied',
      ],
      'Your message to <ada@example.com> was not accepted: 550 5.1.1 mailbox unknown.\r\n',
    );
    const report = await parseReport(raw);
    expect(report.kind).toBe('dsn');
    expect(report.recipients.map((r) => ({ address: r.address, decision: r.decision }))).toEqual([
      { address: 'ada@example.com', decision: 'hard' },
    ]);
  });

  it('when a report quotes Message-ID, References or In-Reply-To lines, then no message id is taken for the recipient', async () => {
    const raw = message(
      [FROM_DAEMON, 'To: bounces@bounce.example.org', 'Subject: Undeliverable: Trending papers'],
      [
        'Delivery has failed to these recipients or groups:',
        '',
        'ada@example.com',
        "Remote server returned '550 5.1.1 User unknown'",
        '',
        'Diagnostic information for administrators:',
        'Original message ID: <digest-7.abc@papers.example.org>',
        '  In-Reply-To: <prior.1@papers.example.org>',
        '',
      ].join('\r\n'),
    );
    expect(await decisions(raw)).toEqual([{ address: 'ada@example.com', decision: 'hard' }]);
    const onlyIds = message(
      [FROM_DAEMON, 'To: bounces@bounce.example.org', 'Subject: Delivery failure'],
      ['Delivery failed permanently.', '', '  References: <digest-7.abc@papers.example.org>', ''].join('\r\n'),
    );
    expect((await parseReport(onlyIds)).recipients).toEqual([]);
  });
});
