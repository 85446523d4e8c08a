import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DATE, freezeFixtureDay, seedSubscribers, startHarness, type Harness } from '../support/digest-harness.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { sendDigest } from '../../src/digest/run.ts';
import { sendDueMail } from '../../src/mail/mail-queue.ts';
import { mailQueueDeps } from '../../src/context.ts';

/**
 * SpamAssassin (Debian's package, its stock rules, no network tests: -L) scores both emails as
 * the product sends them: a digest through the real send path and a confirmation through the
 * mail queue, each as an SMTP server received it. Both must score 0.
 */
const SPAMASSASSIN = '/usr/bin/spamassassin';
const ENV = { MAIL_FROM: 'Paperboy <digest@papers.example.org>', PUBLIC_URL: 'https://papers.example.org' };

interface Scored {
  points: number;
  report: string;
}

/**
 * `spamassassin -L -t`: the message back with its report appended; the score is in its "Content analysis details"
 * line.
 */
function score(raw: Buffer): Promise<Scored> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      SPAMASSASSIN,
      ['-L', '-t'],
      { maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`spamassassin failed: ${err.message}\n${stderr}`));
        const m = /Content analysis details:\s+\((-?\d+(?:\.\d+)?) points/.exec(stdout);
        if (!m) return reject(new Error(`no score in spamassassin's output:\n${stdout.slice(-3000)}`));
        resolve({ points: Number(m[1]), report: stdout.slice(m.index) });
      },
    );
    child.stdin!.end(raw);
  });
}

let h: Harness | undefined;
let t: TestApp | undefined;
let sink: SmtpSink | undefined;
let digest: Buffer;
let confirmation: Buffer;

beforeAll(async () => {
  if (!existsSync(SPAMASSASSIN))
    throw new Error(
      `${SPAMASSASSIN} is missing: install Debian's spamassassin package (apt-get install -y spamassassin; .ci/run does)`,
    );
  h = await startHarness({ env: ENV });
  freezeFixtureDay(h.ctx);
  seedSubscribers(h.ctx.db, 1);
  expect((await sendDigest(h.deps, { date: DATE })).sent).toBe(1);
  digest = (await h.sink.waitFor(1))[0]!.raw;

  sink = await startSmtpSink();
  t = await createTestApp({ SMTP_URL: sink.url, ...ENV });
  await t.app.inject({
    method: 'POST',
    url: '/subscribe',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'email=ada%40example.org',
  });
  await sendDueMail(mailQueueDeps(t.ctx, t.templates));
  confirmation = (await sink.waitFor(1))[0]!.raw;
}, 60_000);

afterAll(async () => {
  await h?.close();
  await t?.close();
  await sink?.close();
});

describe('SpamAssassin scores what Paperboy sends', () => {
  it('when the digest and the confirmation email are scored, then both score 0.0, with no HTML_FONT_LOW_CONTRAST', async () => {
    const [d, c] = await Promise.all([score(digest), score(confirmation)]);
    // SpamAssassin prints -0.0 when only its informational rules (-0.001 each) fire.
    expect(
      { digest: Math.abs(d.points), confirmation: Math.abs(c.points) },
      `digest:\n${d.report}\nconfirmation:\n${c.report}`,
    ).toEqual({ digest: 0, confirmation: 0 });
    expect(d.report + c.report).not.toMatch(/HTML_FONT_LOW_CONTRAST/);
  }, 60_000);
});
