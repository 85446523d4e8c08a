import { describe, expect, it } from 'vitest';
import { sesBounces } from '../../src/bounces/sources/webhooks/ses.ts';
import { postmarkBounces } from '../../src/bounces/sources/webhooks/postmark.ts';
import { mailgunBounces } from '../../src/bounces/sources/webhooks/mailgun.ts';

const mail = {
  messageId: 'ses-1',
  source: 'bounces+1-20261124-aaaaaaaaaaaaaaaa@papers.example.org',
  commonHeaders: { messageId: '<digest.2026-11-24.1@papers.example.org>' },
};
const sesBounce = (
  bounceType: string,
  bounceSubType: string,
  status = '5.1.1',
  diagnosticCode = 'smtp; 550 5.1.1 user unknown',
) => ({
  notificationType: 'Bounce',
  mail,
  bounce: {
    feedbackId: 'f1',
    bounceType,
    bounceSubType,
    bouncedRecipients: [{ emailAddress: 'ada@example.org', action: 'failed', status, diagnosticCode }],
  },
});
const kinds = (bounces: { kind: string; reason: string }[]) => bounces.map((b) => [b.kind, b.reason]);

describe('SES notifications', () => {
  it.each([
    ['Permanent', 'General', '5.1.1', 'smtp; 550 5.1.1 user unknown', ['hard', 'user-unknown']],
    ['Permanent', 'NoEmail', '5.1.1', 'smtp; 550 5.1.1 user unknown', ['hard', 'no-email']],
    ['Permanent', 'Suppressed', '5.1.1', 'Amazon SES has suppressed sending to this address', ['hard', 'suppressed']],
    ['Permanent', 'OnAccountSuppressionList', '5.1.1', '', ['hard', 'on-account-suppression-list']],
    ['Transient', 'MailboxFull', '4.2.2', 'smtp; 452 4.2.2 Mailbox full', ['soft', 'mailbox-full']],
    ['Transient', 'General', '5.7.1', 'smtp; 550 5.7.1 blocked by policy', ['sender', 'blocked']],
    [
      'Permanent',
      'General',
      '5.7.1',
      'smtp; 550 5.7.1 Our system has detected that this message is likely unsolicited mail',
      ['sender', 'spam'],
    ],
    ['Transient', 'ContentRejected', '5.7.1', 'smtp; 554 5.7.1 Message content rejected', ['sender', 'spam']],
    [
      'Undetermined',
      'Undetermined',
      '5.1.1',
      'smtp; 550 5.1.1 <ada@example.org>: Recipient address rejected: User unknown',
      ['hard', 'user-unknown'],
    ],
    ['Undetermined', 'Undetermined', '5.7.1', 'smtp; 554 5.7.1 message looks like spam', ['sender', 'spam']],
  ])('when a %s/%s bounce says %s, then %o', (type, subType, status, diagnostic, expected) => {
    expect(kinds(sesBounces(sesBounce(type, subType, status, diagnostic)))).toEqual([expected]);
  });

  it('when a bounce carries the envelope sender and the Message-ID, then both are offered for matching', () => {
    expect(sesBounces(sesBounce('Permanent', 'General'))[0]).toMatchObject({
      envelopeFrom: [mail.source],
      messageId: mail.commonHeaders.messageId,
      eventId: 'f1',
    });
  });

  it.each([
    ['abuse', ['complaint', 'feedback']],
    [undefined, ['complaint', 'feedback']],
    ['not-spam', ['ignore', 'not-spam']],
    ['auth-failure', ['ignore', 'auth-failure']],
  ])('when a complaint has feedback type %s, then %o', (complaintFeedbackType, expected) => {
    const complaint = {
      feedbackId: 'c1',
      complainedRecipients: [{ emailAddress: 'ada@example.org' }],
      ...(complaintFeedbackType ? { complaintFeedbackType } : {}),
    };
    expect(kinds(sesBounces({ notificationType: 'Complaint', mail, complaint }))).toEqual([expected]);
  });

  it('when it is a delivery, then there is nothing to apply', () => {
    expect(sesBounces({ notificationType: 'Delivery', mail })).toEqual([]);
    expect(
      kinds(sesBounces({ ...sesBounce('Permanent', 'General'), notificationType: undefined, eventType: 'Bounce' })),
    ).toEqual([['hard', 'user-unknown']]);
  });
});

describe('Postmark webhooks', () => {
  const bounce = (Type: string, Details = '', RecordType = 'Bounce') =>
    postmarkBounces({ RecordType, ID: 7, Type, Email: 'ada@example.org', Details });
  it.each([
    ['HardBounce', '', ['hard', 'hard-bounce']],
    ['BadEmailAddress', '', ['hard', 'bad-email-address']],
    ['SoftBounce', 'smtp;452 4.2.2 mailbox full', ['soft', 'mailbox-full']],
    ['Transient', '', ['soft', 'transient']],
    ['HardBounce', 'smtp;550 5.7.1 Message rejected as spam', ['sender', 'spam']],
    ['Blocked', 'smtp;554 5.7.1 Service unavailable; Client host blocked', ['sender', 'blocked']],
    ['DMARCPolicy', '', ['sender', 'dmarcpolicy']],
    ['AutoResponder', 'I am on holiday', ['ignore', 'auto-responder']],
    ['Unknown', 'smtp;550 5.2.2 mailbox is full', ['soft', 'mailbox-full']],
  ])('when the type is %s, then %o', (type, details, expected) => {
    expect(kinds(bounce(type, details))).toEqual([expected]);
  });
  it('when it is a spam complaint, then a complaint; when another record type, nothing', () => {
    expect(kinds(bounce('SpamComplaint', '', 'SpamComplaint'))).toEqual([['complaint', 'feedback']]);
    expect(bounce('', '', 'Delivery')).toEqual([]);
    expect(bounce('', '', 'Open')).toEqual([]);
  });
});

describe('Mailgun events', () => {
  const failed = (severity: string, reason: string, code: number, message: string) =>
    mailgunBounces({
      id: 'e1',
      event: 'failed',
      severity,
      reason,
      recipient: 'ada@example.org',
      'delivery-status': { code, message },
      envelope: { sender: 'digest@papers.example.org' },
    });
  it.each([
    [
      'permanent',
      'bounce',
      550,
      '5.1.1 The email account that you tried to reach does not exist',
      ['hard', 'user-unknown'],
    ],
    ['permanent', 'bounce', 554, '5.7.1 Service unavailable; client host blocked using Spamhaus', ['sender', 'spam']],
    [
      'temporary',
      'generic',
      421,
      '4.7.0 [TSS04] Messages temporarily deferred due to user complaints',
      ['sender', 'rate-limited'],
    ],
    ['permanent', 'suppress-bounce', 605, 'Not delivering to previously bounced address', ['hard', 'suppressed']],
    [
      'temporary',
      'generic',
      452,
      '4.2.2 The email account that you tried to reach is over quota',
      ['soft', 'mailbox-full'],
    ],
  ])('when a %s failure (%s) says %i %s, then %o', (severity, reason, code, message, expected) => {
    expect(kinds(failed(severity, reason, code, message))).toEqual([expected]);
  });
  it('when complained, then a complaint; when delivered or opened, nothing', () => {
    expect(kinds(mailgunBounces({ id: 'e2', event: 'complained', recipient: 'ada@example.org' }))).toEqual([
      ['complaint', 'feedback'],
    ]);
    expect(mailgunBounces({ id: 'e3', event: 'delivered', recipient: 'ada@example.org' })).toEqual([]);
    expect(mailgunBounces({ id: 'e4', event: 'opened', recipient: 'ada@example.org' })).toEqual([]);
  });
});
