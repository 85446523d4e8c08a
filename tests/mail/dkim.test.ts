import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { dkimPublicKey } from '../../src/doctor/checks.ts';
import { createLogger } from '../../src/logger.ts';
import { dkimSigning } from '../../src/mail/dkim/pool.ts';
import { parseVerpAddress, verpAddress } from '../../src/bounces/verp.ts';
import { prepareMessage, renderMessage } from '../../src/mail/raw-message.ts';
import { loadTemplates } from '../../src/mail/templates.ts';
import { createMailer } from '../../src/mail/transport.ts';
import { fixturePapers } from '../support/fixture-papers.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';

const DOMAIN = 'papers.example.org';
const pem = (type: 'rsa' | 'ed25519') =>
  (type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ed25519')
  ).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

let keys: {
  domainName: string;
  keySelector: string;
  privateKey: string;
  ed25519: { keySelector: string; privateKey: string };
};
/** DNS as a test resolver: the two selectors' TXT records, nothing else. */
let records: Map<string, string>;
const resolver = async (name: string, rr: string) => {
  const txt = rr === 'TXT' ? records.get(name) : undefined;
  if (!txt) throw Object.assign(new Error(`no ${rr} for ${name}`), { code: 'ENOTFOUND' });
  return [[txt]];
};

let digests: ReturnType<typeof prepareMessage>[];
beforeAll(async () => {
  keys = {
    domainName: DOMAIN,
    keySelector: 'pb',
    privateKey: pem('rsa'),
    ed25519: { keySelector: 'pb-ed25519', privateKey: pem('ed25519') },
  };
  records = new Map([
    [`pb._domainkey.${DOMAIN}`, `v=DKIM1; k=rsa; p=${dkimPublicKey(keys.privateKey)}`],
    [`pb-ed25519._domainkey.${DOMAIN}`, `v=DKIM1; k=ed25519; p=${dkimPublicKey(keys.ed25519.privateKey)}`],
  ]);
  const templates = await loadTemplates({
    publicUrl: `https://${DOMAIN}`,
    postalAddress: 'Paperboy, 1 Example Street',
  });
  const papers = fixturePapers('2026-11-24');
  const assemble = templates.digestAssembler('2026-11-24');
  const settings = { from: `Paperboy <digest@${DOMAIN}>`, listId: `"Paperboy daily digest" <daily.${DOMAIN}>` };
  digests = [
    prepareMessage(await assemble(papers.slice(0, 10)), settings),
    prepareMessage(await assemble(papers.slice(3, 4)), settings),
  ];
});

const message = (i: number) =>
  renderMessage(digests[i % digests.length]!, {
    to: `reader${i}@example.com`,
    messageId: `digest.2026-11-24.${i}@${DOMAIN}`,
    date: new Date('2026-11-24T07:00:00Z'),
    unsubscribeUrl: `https://${DOMAIN}/unsubscribe/${i}.token`,
    preferencesUrl: `https://${DOMAIN}/preferences/${i}.token`,
  });

let sink: SmtpSink | undefined;
afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

describe('DKIM signing of digests', () => {
  it.each([2, 0])(
    'when digests are sent with DKIM_WORKERS=%i, then each arrives with an RSA and an Ed25519 signature that mailauth verifies',
    async (workers) => {
      sink = await startSmtpSink();
      const mailer = createMailer({
        smtpUrl: sink.url,
        outboxDir: '/nonexistent',
        poolSize: 2,
        ratePerSec: 0,
        dkim: { ...keys, workers },
        logger: createLogger('silent'),
      });
      try {
        await Promise.all(Array.from({ length: 12 }, (_, i) => mailer.sendPrebuilt(message(i))));
      } finally {
        mailer.close();
      }
      expect(sink.messages).toHaveLength(12);
      for (const received of sink.messages) {
        const { results } = await dkimVerify(received.raw, { resolver });
        expect(results.map((r) => [r.algo, r.selector, r.signingDomain, r.status.result])).toEqual([
          ['ed25519-sha256', 'pb-ed25519', DOMAIN, 'pass'],
          ['rsa-sha256', 'pb', DOMAIN, 'pass'],
        ]);
        // The one-click unsubscribe header is covered, as RFC 8058 requires.
        expect(received.raw.toString('latin1')).toMatch(/h=[^;]*list-unsubscribe-post/i);
      }
    },
  );

  it('when a signed message is altered in transit, then its signatures fail', async () => {
    const signing = dkimSigning(keys, 1);
    try {
      const m = message(1);
      const signed = Buffer.concat([await signing.sign(m.chunks), ...m.chunks]);
      const tampered = Buffer.from(
        signed.toString('latin1').replace('/unsubscribe/1.token', '/unsubscribe/2.token'),
        'latin1',
      );
      const { results } = await dkimVerify(tampered, { resolver });
      expect(results.map((r) => r.status.result)).toEqual(['fail', 'fail']);
      const { results: intact } = await dkimVerify(signed, { resolver });
      expect(intact.map((r) => r.status.result)).toEqual(['pass', 'pass']);
    } finally {
      await signing.close();
    }
  });

  it('when the same message is signed on a worker thread and on the main thread, then the signatures are the same bytes', async () => {
    // One second for both, so t= and x= are the same too.
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-11-24T07:00:00Z') });
    const [pool, main] = [dkimSigning(keys, 2), dkimSigning(keys, 0)];
    try {
      const messages = Array.from({ length: 6 }, (_, i) => message(i));
      const [a, b] = await Promise.all([
        Promise.all(messages.map((m) => pool.sign(m.chunks))),
        Promise.all(messages.map((m) => main.sign(m.chunks))),
      ]);
      expect(a.map(String)).toEqual(b.map(String));
      expect(new Set(a.map(String)).size).toBe(6);
    } finally {
      vi.useRealTimers();
      await Promise.all([pool.close(), main.close()]);
    }
  });

  it('when the key is not RSA, then signing refuses to start', () => {
    expect(() => dkimSigning({ ...keys, privateKey: keys.ed25519.privateKey }, 1)).toThrow(/RSA key/);
  });
});

/** The tags of each DKIM-Signature header of a message, its folding undone. */
function signatureTags(raw: Buffer): Record<string, string>[] {
  const head = raw.toString('latin1').split('\r\n\r\n')[0]!;
  return head
    .split(/\r\n(?![ \t])/)
    .filter((f) => /^dkim-signature:/i.test(f))
    .map((f) =>
      Object.fromEntries(
        f
          .slice(f.indexOf(':') + 1)
          .split(';')
          .map((t) => t.replace(/\s+/g, ''))
          .filter(Boolean)
          .map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)]),
      ),
    );
}

describe('what a digest signature covers, and for how long', () => {
  const signed = async (i: number) => {
    const signing = dkimSigning(keys, 0);
    try {
      const m = message(i);
      return Buffer.concat([await signing.sign(m.chunks), ...m.chunks]);
    } finally {
      await signing.close();
    }
  };
  const verdicts = async (raw: Buffer, curTime?: Date) =>
    (await dkimVerify(raw, { resolver, ...(curTime ? { curTime } : {}) })).results.map((r) => r.status.result);

  it.each([
    ['a second Subject', 'Subject: Your account is locked\r\n'],
    ['a Reply-To', 'Reply-To: <collect@attacker.example>\r\n'],
    ['a second From', 'From: Paperboy <digest@papers.example.org>\r\n'],
    ['a second List-Unsubscribe', 'List-Unsubscribe: <https://attacker.example/u>\r\n'],
  ])('when %s is put in front of a signed digest, then both signatures fail', async (_what, injected) => {
    const raw = await signed(3);
    expect(await verdicts(raw)).toEqual(['pass', 'pass']);
    expect(await verdicts(Buffer.concat([Buffer.from(injected, 'latin1'), raw]))).toEqual(['fail', 'fail']);
  });

  it('when a digest is signed, then h= names each oversigned field once more than the message has it', async () => {
    for (const tags of signatureTags(await signed(3))) {
      const h = tags.h!.split(':');
      const count = (name: string) => h.filter((n) => n === name).length;
      for (const name of ['from', 'subject', 'to', 'list-id', 'list-unsubscribe', 'list-unsubscribe-post'])
        expect([name, count(name)]).toEqual([name, 2]);
      for (const name of ['cc', 'reply-to', 'list-help', 'list-subscribe', 'list-post', 'list-owner', 'list-archive'])
        expect([name, count(name)]).toEqual([name, 1]);
      expect([count('date'), count('message-id'), count('mime-version')]).toEqual([1, 1, 1]);
    }
  });

  it('when a digest is signed, then t= is the signing time, x= seven days later, and after x= it no longer verifies', async () => {
    const at = new Date('2026-11-24T07:00:00Z');
    vi.useFakeTimers({ toFake: ['Date'], now: at });
    let raw: Buffer;
    try {
      raw = await signed(4);
    } finally {
      vi.useRealTimers();
    }
    const t = at.getTime() / 1000;
    for (const tags of signatureTags(raw)) expect([Number(tags.t), Number(tags.x)]).toEqual([t, t + 604800]);
    expect(await verdicts(raw, new Date((t + 604800 - 60) * 1000))).toEqual(['pass', 'pass']);
    expect(await verdicts(raw, new Date((t + 604800 + 60) * 1000))).toEqual(['neutral', 'neutral']);
  });

  it('when a digest is signed, then no line of its DKIM-Signature headers is longer than 78 characters', async () => {
    const raw = await signed(5);
    const head = raw.toString('latin1').split('\r\n\r\n')[0]!;
    const signatures = head.split(/\r\n(?![ \t])/).filter((f) => /^dkim-signature:/i.test(f));
    expect(signatures).toHaveLength(2);
    for (const line of signatures.flatMap((f) => f.split('\r\n'))) expect(line.length).toBeLessThanOrEqual(78);
    // Folded, not cut short: each has a whole signature.
    expect(signatureTags(raw).map((t) => Buffer.from(t.b!, 'base64').length)).toEqual([64, 256]);
  });
});

describe('DKIM signing of transactional mail', () => {
  const confirmation = {
    from: `Paperboy <digest@${DOMAIN}>`,
    to: 'new.reader@example.com',
    messageId: `confirm.2026-11-24.9@${DOMAIN}`,
    subject: 'Paperboy · Confirm your subscription',
    html: '<p>Open the link to confirm.</p>',
    text: 'Open the link to confirm.',
  };
  const results = async (raw: Buffer) => (await dkimVerify(raw, { resolver })).results;

  /** Both signatures pass, oversigned, with x=; a Subject put in front breaks them. */
  const expectOurSignatures = async (raw: Buffer) => {
    expect((await results(raw)).map((r) => [r.algo, r.status.result])).toEqual([
      ['ed25519-sha256', 'pass'],
      ['rsa-sha256', 'pass'],
    ]);
    for (const tags of signatureTags(raw)) {
      expect(tags.h!.split(':').filter((n) => n === 'subject')).toHaveLength(2);
      expect(tags.h!.split(':')).toContain('reply-to');
      expect(Number(tags.x) - Number(tags.t)).toBe(604800);
    }
    const injected = Buffer.concat([Buffer.from('Subject: Your account is locked\r\n'), raw]);
    expect((await results(injected)).map((r) => r.status.result)).toEqual(['fail', 'fail']);
  };

  it('when a transactional message goes out over SMTP, then it carries the digests’ signatures', async () => {
    sink = await startSmtpSink();
    const mailer = createMailer({
      smtpUrl: sink.url,
      outboxDir: '/nonexistent',
      poolSize: 1,
      ratePerSec: 0,
      dkim: { ...keys, workers: 1 },
      logger: createLogger('silent'),
    });
    try {
      await mailer.sendTransactional(confirmation);
    } finally {
      mailer.close();
    }
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0]!.parsed.messageId).toBe(`<${confirmation.messageId}>`);
    await expectOurSignatures(sink.messages[0]!.raw);
  });

  it('when confirmations and digests go out together, then they share one pool, and each confirmation arrives signed twice, from its VERP address, as html + text with Auto-Submitted', async () => {
    sink = await startSmtpSink();
    const mailer = createMailer({
      smtpUrl: sink.url,
      outboxDir: '/nonexistent',
      poolSize: 2,
      ratePerSec: 0,
      dkim: { ...keys, workers: 1 },
      logger: createLogger('silent'),
    });
    const bounceDomain = `bounces.${DOMAIN}`;
    const verp = (subscriberId: number) => verpAddress({ subscriberId }, 'test-secret', bounceDomain);
    try {
      await Promise.all([
        ...Array.from({ length: 6 }, (_, i) => mailer.sendPrebuilt(message(i))),
        ...[7, 8, 9].map((id) =>
          mailer.sendTransactional({
            ...confirmation,
            to: `new.reader${id}@example.com`,
            envelopeFrom: verp(id),
            messageId: `confirm.2026-11-24.${id}@${DOMAIN}`,
          }),
        ),
      ]);
    } finally {
      mailer.close();
    }
    expect(sink.messages).toHaveLength(9);
    expect(sink.connections.opened).toBeLessThanOrEqual(2);
    const confirmations = sink.messages.filter((m) => m.to[0]!.startsWith('new.reader'));
    expect(confirmations.map((m) => m.to[0]).sort()).toEqual([7, 8, 9].map((id) => `new.reader${id}@example.com`));
    for (const received of confirmations) {
      const id = Number(/\d+/.exec(received.to[0]!)![0]);
      expect(received.from).toBe(verp(id));
      expect(parseVerpAddress(received.from, 'test-secret', bounceDomain)).toEqual({ subscriberId: id });
      expect(received.parsed.messageId).toBe(`<confirm.2026-11-24.${id}@${DOMAIN}>`);
      expect(received.parsed.html).toContain('Open the link to confirm.');
      expect(received.parsed.text?.trim()).toBe('Open the link to confirm.');
      expect(received.parsed.headers.get('auto-submitted')).toBe('auto-generated');
      await expectOurSignatures(received.raw);
    }
  });

  it('when mail is written to the outbox, then transactional mail and digests carry the same signatures', async () => {
    const outboxDir = mkdtempSync(join(tmpdir(), 'paperboy-dkim-outbox-'));
    const mailer = createMailer({
      outboxDir,
      poolSize: 1,
      ratePerSec: 0,
      dkim: { ...keys, workers: 0 },
      logger: createLogger('silent'),
    });
    try {
      await mailer.sendTransactional(confirmation);
      await mailer.sendPrebuilt(message(2));
      const files = readdirSync(outboxDir);
      expect(files).toHaveLength(2);
      for (const file of files) await expectOurSignatures(readFileSync(join(outboxDir, file)));
    } finally {
      mailer.close();
      rmSync(outboxDir, { recursive: true, force: true });
    }
  });
});
