import { createHmac, createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verpAddress } from '../../src/bounces/verp.ts';
import { createSubscriberAdminStore } from '../../src/db/subscriber-admin-store.ts';
import { createTestApp, ManualClock, type TestApp } from '../support/test-app.ts';
import { selfSignedCertificate } from '../support/tls.ts';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ses-bounces';
const CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem';
// Certificate names the local stand-in for SNS answers badly: 404, a page that is no PEM, and one
// the test fetcher sends to a port where nothing listens (a network error).
const MISSING_CERT = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-404404404404.pem';
const NOT_PEM_CERT = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0dd0dd0dd0dd.pem';
const UNREACHABLE_CERT = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-dead0dead0.pem';
const POSTMARK_AUTH = 'postmark:hook-password-0123';
const MAILGUN_KEY = 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0';
const MAIL_FROM = 'Paperboy <digest@papers.example.org>';

// A signing key and its self-signed certificate, made for this run; a local server stands in for
// SNS's certificate and SubscribeURL endpoints (the app fetches SNS URLs through it).
let pki: { key: KeyObject; cert: string };
let sns: { server: Server; base: string; hits: string[]; closedPort: number };
beforeAll(async () => {
  const { key, cert } = selfSignedCertificate('sns.amazonaws.com');
  pki = { key: createPrivateKey(key), cert };
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url!);
    if (req.url === new URL(MISSING_CERT).pathname) res.statusCode = 404;
    else if (req.url === new URL(NOT_PEM_CERT).pathname) return void res.end('<html>maintenance</html>');
    else if (req.url!.endsWith('.pem')) return void res.end(pki.cert);
    if (req.url!.includes('Action=ConfirmSubscription')) return void res.end('<ConfirmSubscriptionResponse/>');
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  sns = { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, closedPort };
});
afterAll(async () => {
  await new Promise((r) => sns.server.close(r));
});

let t: TestApp;
let clock: ManualClock;
let fetched: string[];
afterEach(async () => {
  await t?.close();
  sns.hits.length = 0;
});

async function start(
  env: Record<string, string> = {
    SES_SNS_TOPIC_ARNS: TOPIC,
    POSTMARK_WEBHOOK_AUTH: POSTMARK_AUTH,
    MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY,
  },
) {
  clock = new ManualClock(new Date('2026-11-25T09:00:00.000Z'));
  fetched = [];
  const snsFetch = (url: string) => {
    fetched.push(url);
    const u = new URL(url);
    const base = url === UNREACHABLE_CERT ? `http://127.0.0.1:${sns.closedPort}` : sns.base;
    return fetch(`${base}${u.pathname}${u.search}`);
  };
  t = await createTestApp({ MAIL_FROM, ...env }, { clock }, { snsFetch });
  admin = createSubscriberAdminStore(t.ctx.db);
}
let admin: ReturnType<typeof createSubscriberAdminStore>;
function subscribe(...emails: string[]): number[] {
  admin.importConfirmed(
    emails.map((email, i) => ({ line: i + 2, email, digestSize: 10, keywords: '' })),
    clock.now(),
  );
  return emails.map((e) => t.ctx.subscribers.byEmail(e)!.id);
}
const status = (id: number) => t.ctx.subscribers.byId(id)?.status;
const eventCount = () => t.ctx.db.prepare('SELECT count(*) FROM bounce_events').pluck().get();
const verp = (id: number) =>
  verpAddress({ subscriberId: id, runDate: '2026-11-24' }, t.ctx.secret, t.ctx.config.BOUNCE_DOMAIN);

// --- Amazon SES through SNS -------------------------------------------------------------------

/** Signed as AWS documents: `Name\nvalue\n` over these fields in this order (Subject only if present). */
function snsSigned(m: Record<string, string>, version: '1' | '2' = '1'): Record<string, string> {
  const order =
    m.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const text = order
    .filter((k) => m[k] !== undefined)
    .map((k) => `${k}\n${m[k]}\n`)
    .join('');
  const signature = sign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256', Buffer.from(text), pki.key).toString('base64');
  return { ...m, SignatureVersion: version, Signature: signature, SigningCertURL: CERT_URL };
}

function sesNotification(ses: object): Record<string, string> {
  return {
    Type: 'Notification',
    MessageId: randomBytes(16).toString('hex'),
    TopicArn: TOPIC,
    Message: JSON.stringify(ses),
    Timestamp: '2026-11-25T08:59:58.123Z',
    UnsubscribeURL: `https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${TOPIC}:6d5e4f3a`,
  };
}

const sesMail = (to: string, source: string, messageId?: string) => ({
  timestamp: '2026-11-25T07:00:59.000Z',
  source,
  sourceArn: 'arn:aws:ses:eu-west-1:123456789012:identity/papers.example.org',
  sourceIp: '127.0.3.1',
  sendingAccountId: '123456789012',
  messageId: '0102018f3a6b7c8d-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d-000000',
  destination: [to],
  headersTruncated: false,
  headers: [
    { name: 'From', value: MAIL_FROM },
    { name: 'To', value: to },
    ...(messageId ? [{ name: 'Message-ID', value: messageId }] : []),
    { name: 'Subject', value: 'Trending ML papers, 24 November' },
  ],
  commonHeaders: {
    from: [MAIL_FROM],
    to: [to],
    ...(messageId ? { messageId } : {}),
    subject: 'Trending ML papers, 24 November',
  },
});

const sesBounce = (to: string, source: string, bounceType = 'Permanent', bounceSubType = 'General') => ({
  notificationType: 'Bounce',
  bounce: {
    feedbackId: `0102018f3a6b7d00-${randomBytes(4).toString('hex')}-000000`,
    bounceType,
    bounceSubType,
    bouncedRecipients: [
      { emailAddress: to, action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' },
    ],
    timestamp: '2026-11-25T07:01:02.000Z',
    remoteMtaIp: '127.0.2.1',
    reportingMTA: 'dsn; b224-13.smtp-out.eu-west-1.amazonses.com',
  },
  mail: sesMail(to, source),
});

const postSns = (body: object | string) =>
  t.app.inject({
    method: 'POST',
    url: '/webhooks/ses',
    headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('POST /webhooks/ses (Amazon SNS)', () => {
  it('when a signed bounce names our VERP address, then that subscriber is suppressed, whoever the recipient is', async () => {
    await start();
    const [ada, bob] = subscribe('ada@example.org', 'bob@example.org');
    const res = await postSns(snsSigned(sesNotification(sesBounce('bob@example.org', verp(ada!)))));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'handled', events: 1 });
    expect([status(ada!), status(bob!)]).toEqual(['suppressed', 'confirmed']);
    expect(fetched).toEqual([CERT_URL]);
  });

  it('when a signed complaint (SignatureVersion 2) returns our Message-ID, then that subscriber is unsubscribed; a transient bounce only counts', async () => {
    await start();
    const [ada, bob] = subscribe('ada@example.org', 'bob@example.org');
    const complaint = {
      notificationType: 'Complaint',
      complaint: {
        feedbackId: '0102018f3a6b7e11-aaaabbbb-000000',
        complainedRecipients: [{ emailAddress: 'someone@forwarded.example' }],
        complaintFeedbackType: 'abuse',
        userAgent: 'Yahoo!-Mail-Feedback/2.0',
        timestamp: '2026-11-25T08:10:00.000Z',
        arrivalDate: '2026-11-25T07:01:00.000Z',
      },
      mail: sesMail(
        'someone@forwarded.example',
        'digest@papers.example.org',
        `<digest.2026-11-24.${ada}@papers.example.org>`,
      ),
    };
    expect((await postSns(snsSigned(sesNotification(complaint), '2'))).statusCode).toBe(200);
    expect(
      (
        await postSns(
          snsSigned(
            sesNotification(sesBounce('bob@example.org', 'digest@papers.example.org', 'Transient', 'MailboxFull')),
          ),
        )
      ).statusCode,
    ).toBe(200);
    expect([status(ada!), status(bob!)]).toEqual(['unsubscribed', 'confirmed']);
    expect(t.ctx.db.prepare('SELECT kind, reason, source FROM bounce_events ORDER BY id').all()).toEqual([
      { kind: 'complaint', reason: 'feedback', source: 'webhook:ses' },
      { kind: 'soft', reason: 'mailbox-full', source: 'webhook:ses' },
    ]);
    // One certificate URL, fetched once.
    expect(fetched).toEqual([CERT_URL]);
  });

  it('when SNS retries the same notification, then nothing changes twice', async () => {
    await start();
    const [ada] = subscribe('ada@example.org');
    const signed = snsSigned(sesNotification(sesBounce('ada@example.org', 'digest@papers.example.org')));
    expect((await postSns(signed)).statusCode).toBe(200);
    expect((await postSns(signed)).statusCode).toBe(200);
    expect(status(ada!)).toBe('suppressed');
    expect(eventCount()).toBe(1);
  });

  it('when the call is unsigned or its signature is wrong, then it is refused, nothing changes and the service stays up', async () => {
    await start();
    const [ada] = subscribe('ada@example.org');
    const good = snsSigned(sesNotification(sesBounce('ada@example.org', 'digest@papers.example.org')));
    const { Signature: _s, SigningCertURL: _c, ...unsigned } = good;
    expect((await postSns(unsigned)).statusCode).toBe(401);
    // Signed, then altered: the bounce now names another subscriber's address.
    const altered = { ...good, Message: good.Message!.replace('ada@example.org', 'bob@example.org') };
    expect((await postSns(altered)).statusCode).toBe(403);
    // Signed by someone else's key.
    const forged = { ...good, Signature: sign('RSA-SHA1', Buffer.from('anything'), pki.key).toString('base64') };
    expect((await postSns(forged)).statusCode).toBe(403);
    // A certificate from a host that is not SNS is never fetched.
    const elsewhere = { ...good, SigningCertURL: 'https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem' };
    expect((await postSns(elsewhere)).statusCode).toBe(403);
    // Another topic than ours.
    expect(
      (
        await postSns(
          snsSigned({ ...sesNotification(sesBounce('ada@example.org', 'x@y.example')), TopicArn: `${TOPIC}-other` }),
        )
      ).statusCode,
    ).toBe(403);
    expect((await postSns('not json')).statusCode).toBe(400);
    expect(status(ada!)).toBe('confirmed');
    expect(eventCount()).toBe(0);
    expect(fetched.every((u) => u === CERT_URL)).toBe(true);
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await postSns(good)).statusCode).toBe(200);
    expect(status(ada!)).toBe('suppressed');
  });

  it.each([
    ['http://', CERT_URL.replace('https:', 'http:'), /https/],
    ['user info', CERT_URL.replace('https://', 'https://user:pass@'), /user name/],
    [
      'user info hiding the host',
      'https://sns.eu-west-1.amazonaws.com@evil.example/SimpleNotificationService-abc.pem',
      /user name/,
    ],
    ['another port', CERT_URL.replace('.com/', '.com:8443/'), /port/],
    ['a host that only starts like SNS', CERT_URL.replace('.com/', '.com.evil.example/'), /host/],
    ['a host that only ends like SNS', CERT_URL.replace('https://sns.', 'https://notsns.'), /host/],
    ['an S3 bucket named sns', CERT_URL.replace('sns.eu-west-1.', 'sns.s3.'), /host/],
    ['a trailing dot', CERT_URL.replace('.com/', '.com./'), /host/],
    ['another file', 'https://sns.eu-west-1.amazonaws.com/some/other.pem', /path/],
    ['a folder before the file', CERT_URL.replace('.com/', '.com/x/'), /path/],
    ['a name that is not hex', 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-xyz.pem', /path/],
    ['more after .pem', `${CERT_URL}.txt`, /path/],
    ['a query', `${CERT_URL}?x=1`, /query/],
    ['a fragment', `${CERT_URL}#x`, /query/],
    ['not a URL', 'sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem', /not a URL/],
    ['file:', 'file:///SimpleNotificationService-abc.pem', /https/],
  ])('when the SigningCertURL has %s, then 403 saying so, and nothing is fetched', async (_what, url, why) => {
    await start();
    const [ada] = subscribe('ada@example.org');
    const signed = snsSigned(sesNotification(sesBounce('ada@example.org', 'digest@papers.example.org')));
    const res = await postSns({ ...signed, SigningCertURL: url });
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toMatch(/SigningCertURL/);
    expect(res.json().message).toMatch(why);
    expect(fetched).toEqual([]);
    expect(sns.hits).toEqual([]);
    expect(status(ada!)).toBe('confirmed');
  });

  it('when the SigningCertURL is in a China region or names port 443, then the certificate is fetched and the call handled', async () => {
    await start();
    const [ada, bob] = subscribe('ada@example.org', 'bob@example.org');
    const china = 'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-3242342098.pem';
    const port443 = CERT_URL.replace('.com/', '.com:443/');
    const first = snsSigned(sesNotification(sesBounce('ada@example.org', 'digest@papers.example.org')));
    const second = snsSigned(sesNotification(sesBounce('bob@example.org', 'digest@papers.example.org')));
    expect((await postSns({ ...first, SigningCertURL: china })).statusCode).toBe(200);
    expect((await postSns({ ...second, SigningCertURL: port443 })).statusCode).toBe(200);
    expect([status(ada!), status(bob!)]).toEqual(['suppressed', 'suppressed']);
    expect(fetched).toEqual([china, CERT_URL]);
  });

  it.each([
    ['cannot be reached', UNREACHABLE_CERT, /could not be fetched/],
    ['answers 404', MISSING_CERT, /HTTP 404/],
    ['is not a PEM certificate', NOT_PEM_CERT, /not a PEM certificate/],
  ])(
    'when the signing certificate %s, then 403 saying why (never 500), nothing changes, and the next call tries again',
    async (_what, url, why) => {
      await start();
      const [ada] = subscribe('ada@example.org');
      const signed = {
        ...snsSigned(sesNotification(sesBounce('ada@example.org', 'x@y.example'))),
        SigningCertURL: url,
      };
      for (const attempt of [1, 2]) {
        const res = await postSns(signed);
        expect(res.statusCode).toBe(403);
        expect(res.json()).toEqual({ error: 'forbidden', message: expect.stringMatching(why) });
        expect(res.json().message).toContain(url);
        expect(fetched).toHaveLength(attempt);
      }
      expect(status(ada!)).toBe('confirmed');
      expect(eventCount()).toBe(0);
    },
  );

  it('when calls name many different valid certificate URLs, then each is fetched once while cached, and the cache keeps only the latest ones', async () => {
    await start();
    subscribe('ada@example.org');
    const urls = Array.from(
      { length: 25 },
      (_, i) => `https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-${(0xa000 + i).toString(16)}.pem`,
    );
    const call = async (url: string) => {
      const signed = snsSigned(sesNotification(sesBounce('ada@example.org', 'digest@papers.example.org')));
      expect((await postSns({ ...signed, SigningCertURL: url })).statusCode).toBe(200);
    };
    for (const url of urls) await call(url);
    expect(fetched).toEqual(urls);
    // The latest are still cached; the oldest was dropped to make room, so it is fetched again.
    await call(urls.at(-1)!);
    await call(urls[0]!);
    expect(fetched).toEqual([...urls, urls[0]]);
  });

  it('when SNS asks to confirm a subscription to our topic, then the SubscribeURL is visited once; for another topic, never', async () => {
    await start();
    const token = randomBytes(32).toString('hex');
    const subscribeUrl = `https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(TOPIC)}&Token=${token}`;
    const confirmation = (topic: string) => ({
      Type: 'SubscriptionConfirmation',
      MessageId: randomBytes(16).toString('hex'),
      Token: token,
      TopicArn: topic,
      Message: `You have chosen to subscribe to the topic ${topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
      SubscribeURL: subscribeUrl,
      Timestamp: '2026-11-25T08:00:00.000Z',
    });
    const res = await postSns(snsSigned(confirmation(TOPIC)));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'confirmed' });
    expect(fetched).toEqual([CERT_URL, subscribeUrl]);
    expect(sns.hits.filter((h) => h.includes('ConfirmSubscription'))).toHaveLength(1);
    expect((await postSns(snsSigned(confirmation('arn:aws:sns:eu-west-1:666666666666:someone-else')))).statusCode).toBe(
      403,
    );
    expect(sns.hits.filter((h) => h.includes('ConfirmSubscription'))).toHaveLength(1);
  });
});

// --- Postmark ---------------------------------------------------------------------------------

const postmarkBounce = (email: string, type = 'HardBounce', id = 4323372036854775) => ({
  RecordType: type === 'SpamComplaint' ? 'SpamComplaint' : 'Bounce',
  MessageStream: 'broadcast',
  ID: id,
  Type: type,
  TypeCode: type === 'SpamComplaint' ? 100001 : 1,
  Name: type === 'SpamComplaint' ? 'Spam complaint' : 'Hard bounce',
  Tag: 'digest',
  MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
  Metadata: {},
  ServerID: 23,
  Description:
    type === 'SpamComplaint'
      ? 'The subscriber explicitly marked this message as spam.'
      : 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
  Details:
    type === 'SpamComplaint'
      ? 'Test spam complaint details'
      : 'smtp;550 5.1.1 The email account that you tried to reach does not exist.',
  Email: email,
  From: 'digest@papers.example.org',
  BouncedAt: '2026-11-25T07:01:02Z',
  DumpAvailable: true,
  Inactive: true,
  CanActivate: true,
  Subject: 'Trending ML papers, 24 November',
});
const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;
const postPostmark = (body: object, authorization?: string) =>
  t.app.inject({
    method: 'POST',
    url: '/webhooks/postmark',
    headers: authorization ? { authorization } : {},
    payload: body,
  });

describe('POST /webhooks/postmark', () => {
  it('when a hard bounce and a spam complaint come with the right credentials, then the subscribers are suppressed and unsubscribed', async () => {
    await start();
    const [ada, bob] = subscribe('ada@example.org', 'bob@example.org');
    expect((await postPostmark(postmarkBounce('ada@example.org'), basic(POSTMARK_AUTH))).statusCode).toBe(200);
    const res = await postPostmark(postmarkBounce('bob@example.org', 'SpamComplaint', 42), basic(POSTMARK_AUTH));
    expect(res.json()).toEqual({ status: 'handled', events: 1 });
    expect([status(ada!), status(bob!)]).toEqual(['suppressed', 'unsubscribed']);
  });

  it('when the credentials are missing or wrong, then 401 or 403, and nothing changes', async () => {
    await start();
    const [ada] = subscribe('ada@example.org');
    const missing = await postPostmark(postmarkBounce('ada@example.org'));
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toMatch(/^Basic/);
    expect(
      (await postPostmark(postmarkBounce('ada@example.org'), basic('postmark:hook-password-0124'))).statusCode,
    ).toBe(403);
    expect((await postPostmark(postmarkBounce('ada@example.org'), 'Bearer hook-password-0123')).statusCode).toBe(401);
    expect(status(ada!)).toBe('confirmed');
    expect(eventCount()).toBe(0);
  });
});

// --- Mailgun ----------------------------------------------------------------------------------

function mailgunSigned(eventData: object, at = clock.now(), token = randomBytes(25).toString('hex')) {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  return {
    signature: {
      timestamp,
      token,
      signature: createHmac('sha256', MAILGUN_KEY)
        .update(timestamp + token)
        .digest('hex'),
    },
    'event-data': eventData,
  };
}
const mailgunFailed = (
  recipient: string,
  sender: string,
  severity: string,
  code: number,
  message: string,
  enhanced?: string,
  messageId = '20261125070100.1.abcdef@papers.example.org',
) => ({
  id: randomBytes(16).toString('base64url'),
  timestamp: 1764061200.123,
  'log-level': severity === 'permanent' ? 'error' : 'warn',
  event: 'failed',
  severity,
  reason: 'bounce',
  recipient,
  'recipient-domain': recipient.split('@')[1],
  envelope: { sender, transport: 'smtp', targets: recipient, 'sending-ip': '127.0.4.1' },
  flags: { 'is-routed': false, 'is-authenticated': true, 'is-system-test': false, 'is-test-mode': false },
  'delivery-status': {
    'attempt-no': 1,
    code,
    message,
    description: '',
    ...(enhanced ? { 'enhanced-code': enhanced } : {}),
    'mx-host': 'mx.example.org',
    'session-seconds': 0.4,
  },
  message: {
    headers: { to: recipient, 'message-id': messageId, from: MAIL_FROM, subject: 'Trending ML papers, 24 November' },
    attachments: [],
    size: 52_311,
  },
  'user-variables': {},
  tags: [],
});
const mailgunComplained = (recipient: string, messageId: string) => ({
  id: randomBytes(16).toString('base64url'),
  timestamp: 1764061200.5,
  'log-level': 'warn',
  event: 'complained',
  envelope: { 'sending-ip': '127.0.4.1' },
  flags: { 'is-test-mode': false },
  recipient,
  message: {
    headers: { to: recipient, 'message-id': messageId, from: MAIL_FROM, subject: 'Trending ML papers, 24 November' },
    attachments: [],
    size: 52_311,
  },
  tags: [],
  campaigns: [],
  'user-variables': {},
});
const postMailgun = (body: object) => t.app.inject({ method: 'POST', url: '/webhooks/mailgun', payload: body });

describe('POST /webhooks/mailgun', () => {
  it('when signed events come, then a permanent failure at the address suppresses (matched by VERP), a complaint unsubscribes (by Message-ID), a refusal of our content only counts', async () => {
    await start();
    const [ada, bob, cy] = subscribe('ada@example.org', 'bob@example.org', 'cy@example.org');
    const userUnknown = mailgunFailed(
      'someone@example.net',
      verp(ada!),
      'permanent',
      550,
      "5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos",
      '5.1.1',
    );
    expect((await postMailgun(mailgunSigned(userUnknown))).statusCode).toBe(200);
    expect(
      (
        await postMailgun(
          mailgunSigned(
            mailgunComplained('forwarded@elsewhere.example', `digest.2026-11-24.${bob}@papers.example.org`),
          ),
        )
      ).statusCode,
    ).toBe(200);
    const spam = mailgunFailed(
      'cy@example.org',
      'digest@papers.example.org',
      'permanent',
      550,
      '5.7.1 Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked.',
      '5.7.1',
    );
    expect((await postMailgun(mailgunSigned(spam))).statusCode).toBe(200);
    expect([status(ada!), status(bob!), status(cy!)]).toEqual(['suppressed', 'unsubscribed', 'confirmed']);
    expect(t.ctx.db.prepare('SELECT kind FROM bounce_events ORDER BY id').pluck().all()).toEqual([
      'hard',
      'complaint',
      'sender',
    ]);
  });

  it('when unsigned, wrongly signed, stale or replayed, then refused and nothing changes', async () => {
    await start();
    const [ada] = subscribe('ada@example.org');
    const event = mailgunFailed(
      'ada@example.org',
      'digest@papers.example.org',
      'permanent',
      550,
      '5.1.1 no such user',
      '5.1.1',
    );
    expect((await postMailgun({ 'event-data': event })).statusCode).toBe(401);
    const signed = mailgunSigned(event);
    expect(
      (await postMailgun({ ...signed, signature: { ...signed.signature, signature: 'f'.repeat(64) } })).statusCode,
    ).toBe(403);
    expect((await postMailgun(mailgunSigned(event, new Date(clock.now().getTime() - 6 * 60_000)))).statusCode).toBe(
      403,
    );
    expect(status(ada!)).toBe('confirmed');
    expect(eventCount()).toBe(0);

    expect((await postMailgun(signed)).statusCode).toBe(200);
    expect(status(ada!)).toBe('suppressed');
    // The same signed call again: its token was used.
    const replay = await postMailgun(signed);
    expect(replay.statusCode).toBe(403);
    expect(replay.json().message).toMatch(/used before/);
  });

  it('when a call is dated more than 5 minutes ahead, then refused; one dated 4 minutes ahead is remembered until 5 minutes after its date', async () => {
    await start();
    const [ada, bob] = subscribe('ada@example.org', 'bob@example.org');
    const at = (minutes: number) => new Date(clock.now().getTime() + minutes * 60_000);
    const failed = (to: string) =>
      mailgunFailed(to, 'digest@papers.example.org', 'permanent', 550, '5.1.1 no such user', '5.1.1');
    const tooEarly = await postMailgun(mailgunSigned(failed('ada@example.org'), at(6)));
    expect(tooEarly.statusCode).toBe(403);
    expect(tooEarly.json().message).toMatch(/timestamp/);

    const ahead = mailgunSigned(failed('ada@example.org'), at(4));
    expect((await postMailgun(ahead)).statusCode).toBe(200);
    // Six minutes on, the call is two minutes old: still fresh, so only the token stops it.
    clock.advance(6 * 60_000);
    const replay = await postMailgun({ ...ahead, 'event-data': failed('bob@example.org') });
    expect(replay.statusCode).toBe(403);
    expect(replay.json().message).toMatch(/used before/);
    expect([status(ada!), status(bob!)]).toEqual(['suppressed', 'confirmed']);
  });

  it('when a used signature comes with another event to the service restarted on the same database, then it is refused', async () => {
    await start();
    const [ada, bob] = subscribe('ada@example.org', 'bob@example.org');
    const first = mailgunSigned(mailgunComplained('ada@example.org', 'x@papers.example.org'));
    expect((await postMailgun(first)).statusCode).toBe(200);
    // Mailgun signs the timestamp and token, not the event: a seen signature could carry any event.
    const restarted = await createTestApp(
      { MAIL_FROM, MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY, DATABASE_PATH: t.ctx.config.DATABASE_PATH },
      { clock },
    );
    try {
      const replay = await restarted.app.inject({
        method: 'POST',
        url: '/webhooks/mailgun',
        payload: { ...first, 'event-data': mailgunComplained('bob@example.org', 'x@papers.example.org') },
      });
      expect(replay.statusCode).toBe(403);
      expect(replay.json().message).toMatch(/used before/);
    } finally {
      await restarted.close();
    }
    expect([status(ada!), status(bob!)]).toEqual(['unsubscribed', 'confirmed']);
  });

  it('when the time of remembered tokens is up, then they are forgotten', async () => {
    await start();
    subscribe('ada@example.org');
    const remembered = () => t.ctx.db.prepare('SELECT count(*) FROM webhook_tokens').pluck().get();
    const call = () => postMailgun(mailgunSigned(mailgunComplained('ada@example.org', 'x@papers.example.org')));
    for (let i = 0; i < 3; i++) expect((await call()).statusCode).toBe(200);
    expect(remembered()).toBe(3);
    clock.advance(5 * 60_000 + 1000);
    expect((await call()).statusCode).toBe(200);
    expect(remembered()).toBe(1);
  });

  it('when the body is over 256 KB, then 413 and nothing is read', async () => {
    await start();
    const big = mailgunSigned({
      ...mailgunComplained('ada@example.org', 'x@papers.example.org'),
      padding: 'x'.repeat(300 * 1024),
    });
    expect((await postMailgun(big)).statusCode).toBe(413);
    expect(eventCount()).toBe(0);
  });
});

describe('webhook routes without their secret', () => {
  it('when no provider is configured, then every webhook URL is 404', async () => {
    await start({});
    for (const url of ['/webhooks/ses', '/webhooks/postmark', '/webhooks/mailgun']) {
      expect((await t.app.inject({ method: 'POST', url, payload: {} })).statusCode).toBe(404);
    }
  });
});
