import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { dkimPublicKey } from '../../src/doctor/checks.ts';
import { sendDigest } from '../../src/digest/run.ts';
import { fixturePapers } from '../support/fixture-papers.ts';
import { DATE, freezeFixtureDay, seedSubscribers, startHarness, type Harness } from '../support/digest-harness.ts';

let h: Harness | undefined;
let keyDir: string | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  keyDir = undefined;
});

/** A Feedback-ID header's values in a received message (folded lines joined). */
const feedbackIds = (raw: Buffer) =>
  [
    ...raw
      .toString('latin1')
      .split('\r\n\r\n')[0]!
      .matchAll(/^Feedback-ID:[ \t]*(.*(?:\r\n[ \t].*)*)/gim),
  ].map((m) => m[1]!.replace(/\r\n[ \t]+/g, ' '));

describe('the Feedback-ID of digests', () => {
  it('when a daily digest is signed for DKIM_DOMAIN, then it names the edition, the date and that domain, under a signature that verifies', async () => {
    keyDir = mkdtempSync(join(tmpdir(), 'paperboy-feedback-id-'));
    const keyPath = join(keyDir, 'dkim.pem');
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    writeFileSync(keyPath, pem);
    h = await startHarness({
      env: { DKIM_DOMAIN: 'Example.ORG', DKIM_SELECTOR: 'pb', DKIM_PRIVATE_KEY_PATH: keyPath, DKIM_WORKERS: '0' },
    });
    seedSubscribers(h.ctx.db, 2);
    freezeFixtureDay(h.ctx);
    await sendDigest(h.deps, { date: DATE });

    const record = `v=DKIM1; k=rsa; p=${dkimPublicKey(pem as string)}`;
    const resolver = async (name: string) => {
      if (name !== 'pb._domainkey.example.org') throw Object.assign(new Error('no record'), { code: 'ENOTFOUND' });
      return [[record]];
    };
    expect(h.sink.messages).toHaveLength(2);
    for (const m of h.sink.messages) {
      expect(feedbackIds(m.raw)).toEqual([`daily:${DATE}:paperboy:example.org`]);
      const { results } = await dkimVerify(m.raw, { resolver });
      expect(results.map((r) => r.status.result)).toEqual(['pass']);
      // Signed, and once more than it occurs: a second Feedback-ID added on the way breaks the signature.
      const injected = Buffer.concat([Buffer.from('Feedback-ID: daily:x:paperboy:example.org\r\n'), m.raw]);
      expect((await dkimVerify(injected, { resolver })).results.map((r) => r.status.result)).toEqual(['fail']);
    }
  });

  it('when the weekly edition is sent without DKIM, then its Feedback-ID names the week and MAIL_FROM’s domain', async () => {
    const week = '2026-11-29';
    h = await startHarness();
    seedSubscribers(h.ctx.db, 1, { cadence: 'weekly', prefix: 'weekly' });
    h.ctx.digests.save(week, fixturePapers('2026-11-24'), 'weekly');
    await sendDigest(h.deps, { date: week, cadence: 'weekly' });

    expect(h.sink.messages).toHaveLength(1);
    expect(feedbackIds(h.sink.messages[0]!.raw)).toEqual([`weekly:${week}:paperboy:papers.example.org`]);
    expect(h.sink.messages[0]!.raw.toString('latin1')).toContain(
      'List-Id: "Paperboy weekly digest" <weekly.papers.example.org>',
    );
  });
});
