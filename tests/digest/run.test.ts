import { afterEach, describe, expect, it } from 'vitest';
import { sendDigest } from '../../src/digest/run.ts';
import { variantCache } from '../../src/digest/variants.ts';
import type { PreparedMessage } from '../../src/mail/raw-message.ts';
import type { Paper } from '../../src/model/paper.ts';
import { subscriberLinks } from '../../src/domain/tokens.ts';
import { signedMessageId } from '../../src/bounces/message-id.ts';
import { unsubscribeAddress } from '../../src/bounces/unsubscribe-address.ts';
import { verpAddress } from '../../src/bounces/verp.ts';
import { fixturePapers } from '../support/fixture-papers.ts';
import {
  byRecipient,
  DATE,
  deliveryRows,
  freezeFixtureDay,
  NOW,
  seedSubscribers,
  startHarness,
  type Harness,
} from '../support/digest-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('sendDigest', () => {
  it("when Paperboy reads its own mail and no MAIL_UNSUBSCRIBE_MAILTO is set, then List-Unsubscribe offers each reader's signed unsubscribe address", async () => {
    h = await startHarness({ now: () => NOW, env: { BOUNCE_SMTP_PORT: '0' } });
    const ids = seedSubscribers(h.ctx.db, 2);
    freezeFixtureDay(h.ctx);
    await sendDigest(h.deps, { date: DATE });
    for (const id of ids) {
      const m = h.sink.messages.find((x) => x.to[0] === `reader${id}@example.com`)!;
      const { unsubscribeUrl } = subscriberLinks('https://papers.example.org', h.ctx.secret, id);
      const mailto = unsubscribeAddress(id, h.ctx.secret, 'papers.example.org');
      expect(m.parsed.headerLines.find((l) => l.key === 'list-unsubscribe')?.line.replace(/\r\n[ \t]+/g, ' ')).toBe(
        `List-Unsubscribe: <${unsubscribeUrl}>, <mailto:${mailto}?subject=unsubscribe>`,
      );
    }
  });

  it('when MAIL_UNSUBSCRIBE_MAILTO is set, then it keeps its meaning: that address is offered to every reader', async () => {
    h = await startHarness({
      now: () => NOW,
      env: { BOUNCE_SMTP_PORT: '0', MAIL_UNSUBSCRIBE_MAILTO: 'unsub@papers.example.org' },
    });
    seedSubscribers(h.ctx.db, 1);
    freezeFixtureDay(h.ctx);
    await sendDigest(h.deps, { date: DATE });
    expect(h.sink.messages[0]!.parsed.headerLines.find((l) => l.key === 'list-unsubscribe')?.line).toMatch(
      /<mailto:unsub@papers\.example\.org\?subject=unsubscribe>$/,
    );
  });

  it('when N subscribers are confirmed, then exactly N messages arrive, each with its own links and the list headers', async () => {
    h = await startHarness({ now: () => NOW });
    const ids = seedSubscribers(h.ctx.db, 25);
    freezeFixtureDay(h.ctx);

    const result = await sendDigest(h.deps, { date: DATE });

    expect(result).toMatchObject({ outcome: 'done', sent: 25, failed: 0, skipped: 0 });
    expect(h.sink.messages).toHaveLength(25);
    expect([...byRecipient(h.sink).values()].every((n) => n === 1)).toBe(true);
    for (const id of ids) {
      const email = `reader${id}@example.com`;
      const m = h.sink.messages.find((x) => x.to[0] === email)!;
      const links = subscriberLinks('https://papers.example.org', h.ctx.secret, id);
      // Its own signed envelope sender (VERP); the From header stays MAIL_FROM.
      expect(m.from).toBe(verpAddress({ subscriberId: id, runDate: DATE }, h.ctx.secret, 'papers.example.org'));
      expect(m.parsed.from?.value).toEqual([{ name: 'Paperboy', address: 'digest@papers.example.org' }]);
      expect(m.parsed.to).toMatchObject({ text: email });
      // Signed: a complaint that returns it names this reader, and nobody can write one for another.
      const messageId = signedMessageId({ edition: 'digest', date: DATE, id }, h.ctx.secret, 'papers.example.org');
      expect(m.parsed.messageId).toBe(`<${messageId}>`);
      expect(m.parsed.text).toContain(`Unsubscribe: ${links.unsubscribeUrl}`);
      expect(m.parsed.html).toContain(`href="${links.preferencesUrl}"`);
      const header = (key: string) => m.parsed.headerLines.find((l) => l.key === key)?.line.replace(/\r\n[ \t]+/g, ' ');
      expect(header('list-unsubscribe')).toBe(`List-Unsubscribe: <${links.unsubscribeUrl}>`);
      expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
      expect(header('list-id')).toBe('List-Id: "Paperboy daily digest" <daily.papers.example.org>');
      expect(header('content-type')).toMatch(/^Content-Type: multipart\/alternative;/);
      expect(header('date')).toBe(`Date: ${NOW.toUTCString().replace('GMT', '+0000')}`);
      expect(m.parsed.subject).toMatch(/^Paperboy · Top 10 papers of Tue 24 Nov$/);
    }
    expect(h.ctx.ledger.byDate(DATE)).toMatchObject({
      status: 'done',
      sent: 25,
      failed: 0,
      skipped: 0,
      leaseOwner: null,
    });
    expect(deliveryRows(h.ctx.db).every((r) => r.status === 'sent' && r.attempts === 1)).toBe(true);
  });

  it('when the run is started again after it finished, then nobody gets a second copy', async () => {
    h = await startHarness();
    seedSubscribers(h.ctx.db, 5);
    freezeFixtureDay(h.ctx);
    await sendDigest(h.deps, { date: DATE });
    const again = await sendDigest(h.deps, { date: DATE });
    expect(again).toMatchObject({ outcome: 'done', reason: 'already sent', sent: 0 });
    expect(h.sink.messages).toHaveLength(5);
  });
});

describe('sendDigest: who gets what', () => {
  it('when subscribers confirmed after the run started, then they are not part of it', async () => {
    h = await startHarness();
    seedSubscribers(h.ctx.db, 3);
    seedSubscribers(h.ctx.db, 2, { confirmedAt: new Date(NOW.getTime() + 60_000).toISOString(), prefix: 'late' });
    freezeFixtureDay(h.ctx);
    await sendDigest(h.deps, { date: DATE });
    expect(h.sink.messages.map((m) => m.to[0]).sort()).toEqual([
      'reader1@example.com',
      'reader2@example.com',
      'reader3@example.com',
    ]);
  });

  it('when preferences differ, then each variant is assembled once and each subscriber gets theirs', async () => {
    h = await startHarness();
    seedSubscribers(h.ctx.db, 3, { digestSize: 5 });
    seedSubscribers(h.ctx.db, 3, { digestSize: 20 });
    seedSubscribers(h.ctx.db, 2, { digestSize: 10, keywords: 'scaling' });
    seedSubscribers(h.ctx.db, 1, { digestSize: 10, keywords: 'quantum chromodynamics', prefix: 'niche' });
    freezeFixtureDay(h.ctx);
    let assembled = 0;
    const assembler = h.deps.digestAssembler;
    h.deps.digestAssembler = (date, cadence) => {
      const assemble = assembler(date, cadence);
      return (papers) => (assembled++, assemble(papers));
    };

    const result = await sendDigest(h.deps, { date: DATE });

    expect(result).toMatchObject({ outcome: 'done', sent: 8, skipped: 1 });
    expect(assembled).toBe(3);
    const subjects = new Map(h.sink.messages.map((m) => [m.to[0], m.parsed.subject]));
    expect(subjects.get('reader1@example.com')).toMatch(/Top 5 papers/);
    expect(subjects.get('reader4@example.com')).toMatch(/Top 20 papers/);
    const keyworded = h.sink.messages.find((m) => m.to[0] === 'reader7@example.com')!;
    expect(keyworded.parsed.text).toMatch(/Scaling/);
    expect(keyworded.parsed.text).not.toMatch(/Accelerating Sparse Attention/);
    expect(deliveryRows(h.ctx.db).find((r) => r.status === 'skipped')?.lastReply).toBe(
      'no paper of the day matches their keywords',
    );
  });

  it('when a subscriber unsubscribes mid-run, then they get nothing after that point', async () => {
    h = await startHarness();
    const ids = seedSubscribers(h.ctx.db, 10);
    freezeFixtureDay(h.ctx);
    const last = ids[9]!;
    const send = h.deps.mailer.sendPrebuilt;
    let sent = 0;
    // Their row is already claimed (one batch holds all ten) when the unsubscribe lands. It lands
    // after the first reply: at most 1 + 4 (in flight) + 4 (the next window, which may not have
    // read it yet) messages have started by then, so the tenth is certain to see it.
    h.deps.mailer = {
      sendPrebuilt: async (m) => {
        const info = await send(m);
        if (++sent === 1) h!.ctx.subscribers.unsubscribe(last, NOW.toISOString());
        return info;
      },
    };
    const result = await sendDigest(h.deps, { date: DATE });
    expect(result).toMatchObject({ outcome: 'done', sent: 9, skipped: 1 });
    expect(byRecipient(h.sink).has(`reader${last}@example.com`)).toBe(false);
    expect(deliveryRows(h.ctx.db).find((r) => r.subscriberId === last)).toMatchObject({
      status: 'skipped',
      lastReply: 'subscriber is unsubscribed',
    });
  });

  it('when a subscriber is erased mid-run, then the run completes and keeps no trace of them', async () => {
    h = await startHarness();
    const ids = seedSubscribers(h.ctx.db, 10);
    freezeFixtureDay(h.ctx);
    const [early, last] = [ids[0]!, ids[9]!];
    const send = h.deps.mailer.sendPrebuilt;
    let sent = 0;
    // Both are claimed by then: one whose reply is not recorded yet, one whose message has not started.
    h.deps.mailer = {
      sendPrebuilt: async (m) => {
        const info = await send(m);
        if (++sent === 1) h!.ctx.db.prepare('DELETE FROM subscribers WHERE id IN (?, ?)').run(early, last);
        return info;
      },
    };
    const result = await sendDigest(h.deps, { date: DATE });
    expect(result).toMatchObject({ outcome: 'done', sent: 9, skipped: 1 });
    expect(byRecipient(h.sink).has(`reader${last}@example.com`)).toBe(false);
    expect(deliveryRows(h.ctx.db).map((r) => r.subscriberId)).toEqual(ids.slice(1, 9));
  });

  it('when the day has not been frozen, then it is fetched from the source, ranked and frozen first', async () => {
    const { startPapersApi } = await import('../support/papers-api.ts');
    const api = await startPapersApi();
    try {
      h = await startHarness({ env: { PAPERS_API_URL: api.url } });
      seedSubscribers(h.ctx.db, 2);
      const result = await sendDigest(h.deps, { date: DATE });
      expect(result.outcome).toBe('done');
      expect(api.requests.some((r) => r.date === DATE)).toBe(true);
      const frozen = h.ctx.digests.get(DATE)!.papers;
      expect(frozen.map((p) => p.upvotes)).toEqual([...frozen.map((p) => p.upvotes)].sort((a, b) => b - a));
      expect(h.sink.messages[0]!.parsed.subject).toMatch(/Top 10 papers of Tue 24 Nov/);
    } finally {
      await api.close();
    }
  });

  it('when the day has no papers, then the run is recorded empty and no email goes out', async () => {
    const { startPapersApi } = await import('../support/papers-api.ts');
    const api = await startPapersApi();
    try {
      h = await startHarness({ env: { PAPERS_API_URL: api.url } });
      seedSubscribers(h.ctx.db, 2);
      const result = await sendDigest(h.deps, { date: '2026-11-22' });
      expect(result.outcome).toBe('empty');
      expect(h.ctx.ledger.byDate('2026-11-22')?.status).toBe('empty');
      expect(h.sink.messages).toHaveLength(0);
    } finally {
      await api.close();
    }
  });

  it('when the paper source is down, then the run fails clearly, sends nothing, and the next attempt sends it', async () => {
    h = await startHarness();
    seedSubscribers(h.ctx.db, 3);
    const papers = fixturePapers(DATE);
    h.deps.refreshDay = async () => {
      throw new Error('GET https://huggingface.co/api/daily_papers?date=2026-11-24: 503 after 3 attempts');
    };
    const failed = await sendDigest(h.deps, { date: DATE });
    expect(failed).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/^papers for 2026-11-24 unavailable: .*503/),
    });
    expect(h.ctx.ledger.byDate(DATE)).toMatchObject({ status: 'failed', leaseOwner: null });
    expect(h.sink.messages).toHaveLength(0);

    h.deps.refreshDay = async () => papers;
    expect(await sendDigest(h.deps, { date: DATE })).toMatchObject({ outcome: 'done', sent: 3 });
  });

  it('when it is a dry run, then it reports who would get which variant and sends and records nothing', async () => {
    h = await startHarness();
    seedSubscribers(h.ctx.db, 4, { digestSize: 5 });
    seedSubscribers(h.ctx.db, 2, { digestSize: 20 });
    freezeFixtureDay(h.ctx);
    const result = await sendDigest(h.deps, { date: DATE, dryRun: true });
    expect(result).toMatchObject({ outcome: 'dry-run', recipients: 6 });
    expect(result.variants).toEqual([
      { digestSize: 5, keywords: '', papers: 5, recipients: 4 },
      { digestSize: 20, keywords: '', papers: 20, recipients: 2 },
    ]);
    expect(h.ctx.ledger.byDate(DATE)).toBeUndefined();
    expect(h.sink.messages).toHaveLength(0);
  });
});

describe('sendDigest: the in-flight window', () => {
  it('when replies are slow, then at most maxInFlight messages are out at once', async () => {
    h = await startHarness({ policy: { maxInFlight: 3, batchSize: 50 } });
    seedSubscribers(h.ctx.db, 20);
    freezeFixtureDay(h.ctx);
    const send = h.deps.mailer.sendPrebuilt;
    let out = 0;
    let peak = 0;
    h.deps.mailer = {
      sendPrebuilt: async (m) => {
        peak = Math.max(peak, ++out);
        await new Promise((r) => setTimeout(r, 5));
        const info = await send(m);
        out--;
        return info;
      },
    };
    const result = await sendDigest(h.deps, { date: DATE });
    expect(result).toMatchObject({ outcome: 'done', sent: 20 });
    expect(peak).toBe(3);
  });
});

describe('the variant cache', () => {
  const cache = (compile: (ranked: Paper[]) => Promise<PreparedMessage>) => variantCache(fixturePapers(DATE), compile);

  it('when a variant has compiled, then it is handed out as the message itself, and preferences ranking to the same papers share one compile', async () => {
    const compiled: Paper[][] = [];
    const variantFor = cache(
      async (ranked) => (compiled.push(ranked), { papers: ranked.length } as unknown as PreparedMessage),
    );

    const first = variantFor(10, '');
    expect(first).toBeInstanceOf(Promise);
    const message = await first;
    expect(variantFor(10, '')).toBe(message);
    expect(variantFor(10, ' , ')).toBe(message); // no keyword after parsing: the same ten papers
    expect(variantFor(5, '')).toBeInstanceOf(Promise);
    expect(variantFor(10, 'quantum chromodynamics')).toBeNull();
    expect(compiled.map((r) => r.length)).toEqual([10, 5]);
  });

  it('when a variant fails to compile, then asking again gives the same failure without compiling again', async () => {
    let compiles = 0;
    const variantFor = cache(async () => {
      compiles++;
      throw new Error('template broke');
    });
    await expect(variantFor(10, '')).rejects.toThrow('template broke');
    await expect(variantFor(10, '')).rejects.toThrow('template broke');
    expect(compiles).toBe(1);
  });
});
