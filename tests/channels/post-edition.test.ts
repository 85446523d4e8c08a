import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { channelPostDeps } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { postChannels, type ChannelPostDeps } from '../../src/channels/post-edition.ts';
import { createMetricsStore } from '../../src/db/metrics-store.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { parseKeywords, rankPapers } from '../../src/domain/ranking.ts';
import { createTestContext, type TestContext } from '../support/test-context.ts';
import { DATE, freezeFixtureDay, NOW } from '../support/digest-harness.ts';
import { startWebhookServer, type WebhookServer } from '../support/webhook-server.ts';
import { HOSTILE, hostilePapers, liveDiscordMarkup, slackTexts } from '../support/channel-injections.ts';

let ctx: TestContext;
let hooks: WebhookServer;
let logs: { level: number; msg: string; url?: string; [k: string]: unknown }[];
let waits: number[];

beforeEach(async () => {
  ctx = createTestContext({}, { clock: { now: () => NOW } });
  freezeFixtureDay(ctx);
  hooks = await startWebhookServer();
  logs = [];
  waits = [];
});
afterEach(async () => {
  ctx.close();
  await hooks.close();
});

function deps(): ChannelPostDeps {
  const logger = createLogger('info', 'stderr', {
    destination: { write: (l: string) => void logs.push(JSON.parse(l)) },
  });
  const ranking = {
    digests: ctx.digests,
    storedDay: (date: string) => ctx.papers.forDay(date),
    refreshDay: () => Promise.reject(new Error('the frozen edition is used; the source is not asked')),
    logger,
  };
  return {
    ...channelPostDeps({ ...ctx, logger }, ranking),
    // Waits are recorded, not slept: no test depends on the wall clock.
    poster: { fetch: globalThis.fetch, clock: ctx.clock, sleep: async (ms) => void waits.push(ms) },
  };
}

const add = (path: string, o: { kind?: 'slack' | 'discord' | 'json'; size?: number; keywords?: string } = {}) =>
  ctx.channels.add(
    {
      kind: o.kind ?? 'json',
      url: `${hooks.base}${path}`,
      cadence: 'daily',
      digestSize: o.size ?? 10,
      keywords: o.keywords ?? '',
    },
    NOW,
  )!;

const postRow = (id: number) =>
  ctx.db
    .prepare(
      'SELECT state, attempts, last_error AS lastError FROM channel_posts WHERE channel_id = ? AND digest_date = ?',
    )
    .get(id, DATE) as { state: string; attempts: number; lastError: string | null } | undefined;

describe('posting an edition to the channels', () => {
  it('when a Slack, a Discord and a JSON channel are enabled, then each gets one valid post, and a second run posts nothing', async () => {
    add('/slack/T0/B0/x', { kind: 'slack' });
    add('/discord/1/x', { kind: 'discord', size: 20 });
    add('/json/in', { keywords: 'diffusion, agent', size: 5 });
    const first = await postChannels(deps(), DATE, 'daily');
    expect(first).toMatchObject({ posted: 3, failed: 0, disabled: 0 });
    expect(hooks.received.map((r) => [r.path, r.problems])).toEqual([
      ['/slack/T0/B0/x', []],
      ['/discord/1/x', []],
      ['/json/in', []],
    ]);
    const second = await postChannels(deps(), DATE, 'daily');
    expect(second).toMatchObject({ posted: 0, alreadyPosted: 3 });
    expect(hooks.received).toHaveLength(3);
  });

  it('when a day’s titles and summaries try every injection, then Slack and Discord accept the posts and none is live', async () => {
    const hostileDay = '2026-11-26';
    const papers = hostilePapers(ctx.digests.get(DATE)!.papers.slice(0, HOSTILE.length));
    ctx.digests.save(
      hostileDay,
      papers.map((p) => ({ ...p, featuredDate: hostileDay })),
    );
    add('/slack/T0/B0/x', { kind: 'slack', size: 20 });
    add('/discord/1/x', { kind: 'discord', size: 20 });
    expect(await postChannels(deps(), hostileDay, 'daily')).toMatchObject({ posted: 2 });
    const [slack, discord] = hooks.received;
    expect([slack!.problems, discord!.problems]).toEqual([[], []]);
    const texts = slackTexts(slack!.body as object);
    expect(texts.filter((t) => t.type === 'mrkdwn')).toEqual([]);
    for (const h of HOSTILE) expect((slack!.body as { text: string }).text).not.toContain(h);
    const d = discord!.body as { content: string; embeds: { title: string; description: string }[] };
    for (const text of [d.content, ...d.embeds.flatMap((e) => [e.title, e.description])])
      expect(liveDiscordMarkup(text), text).toEqual([]);
  });

  it('when a channel has a size and keywords, then it gets the papers the email gives a reader with those settings', async () => {
    add('/json/in', { keywords: 'diffusion, agent', size: 5 });
    await postChannels(deps(), DATE, 'daily');
    const expected = rankPapers(ctx.digests.get(DATE)!.papers, {
      size: 5,
      keywords: parseKeywords('diffusion, agent'),
    });
    expect(expected.length).toBeGreaterThan(0);
    const doc = hooks.received[0]!.body as { papers: { id: string }[] };
    expect(doc.papers.map((p) => p.id)).toEqual(expected.map((p) => p.id));
  });

  it('when the webhook answers 429 with Retry-After, then the post waits that long and is made once accepted', async () => {
    const id = add('/slack/T0/B0/x', { kind: 'slack' });
    hooks.answers.push(
      { status: 429, headers: { 'retry-after': '7' } },
      { status: 429, headers: { 'retry-after': '2' } },
    );
    const r = await postChannels(deps(), DATE, 'daily');
    expect(r.posted).toBe(1);
    expect(waits).toEqual([7000, 2000]);
    expect(hooks.received).toHaveLength(3);
    expect(postRow(id)).toMatchObject({ state: 'posted', attempts: 1 });
  });

  it('when the webhook answers 5xx, then it is tried again with backoff, and after the last try the post is owed to the next run', async () => {
    const id = add('/json/in');
    hooks.answers.push(...[500, 502, 503, 503].map((status) => ({ status })));
    const r = await postChannels(deps(), DATE, 'daily');
    expect(r).toMatchObject({ posted: 0, failed: 1 });
    expect(waits).toEqual([2000, 4000, 8000]);
    expect(postRow(id)).toMatchObject({ state: 'failed', lastError: 'HTTP 503, 4 attempts' });
    expect(logs.find((l) => l.msg.startsWith('channel post failed'))).toMatchObject({ channel: id, date: DATE });

    // The next day's run posts the owed edition too.
    const next = await postChannels(deps(), '2026-11-25', 'daily');
    expect(next.posted).toBe(1);
    expect(postRow(id)).toMatchObject({ state: 'posted', attempts: 2 });
  });

  it.each([400, 301])(
    'when the webhook answers %i (a refused payload, a redirect), then the post fails at once, without retries',
    async (status) => {
      const id = add('/json/in');
      hooks.answers.push({ status, headers: { location: 'http://127.0.0.1:1/elsewhere' } });
      expect(await postChannels(deps(), DATE, 'daily')).toMatchObject({ failed: 1 });
      expect(hooks.received).toHaveLength(1);
      expect(postRow(id)).toMatchObject({ state: 'failed', lastError: `HTTP ${status}` });
    },
  );

  it.each([404, 410])(
    'when the webhook answers %i (deleted), then the channel is disabled, logged with a masked URL, and counted on /metrics',
    async (status) => {
      const id = add('/discord/1/SECRET-TOKEN', { kind: 'discord' });
      hooks.answers.push({ status });
      expect(await postChannels(deps(), DATE, 'daily')).toMatchObject({ disabled: 1 });
      expect(hooks.received).toHaveLength(1);
      expect(ctx.channels.byId(id)).toMatchObject({ enabled: false, disabledReason: `webhook gone (HTTP ${status})` });
      const line = logs.find((l) => l.msg === 'channel disabled: its webhook was deleted');
      expect(line).toMatchObject({ channel: id, status });
      expect(JSON.stringify(logs)).not.toContain('SECRET-TOKEN');
      const metrics = await createMetrics(createMetricsStore(ctx.db), ctx.clock).registry.metrics();
      expect(metrics).toContain('paperboy_channels{state="disabled"} 1');
      // Disabled: the next run does not post to it.
      await postChannels(deps(), DATE, 'daily');
      expect(hooks.received).toHaveLength(1);
    },
  );

  it('when a post was cut off by a crash (claimed, never answered), then the next run makes it once; a posted one never again', async () => {
    const crashed = add('/json/crashed');
    const done = add('/json/done');
    const claimedAt = new Date(NOW.getTime() - 60 * 60_000);
    ctx.channels.claim(crashed, { digestDate: DATE, cadence: 'daily' }, claimedAt, claimedAt);
    ctx.channels.claim(done, { digestDate: DATE, cadence: 'daily' }, claimedAt, claimedAt);
    ctx.channels.markPosted(done, { digestDate: DATE, cadence: 'daily' }, claimedAt);
    await postChannels(deps(), DATE, 'daily');
    await postChannels(deps(), DATE, 'daily');
    expect(hooks.received.map((r) => r.path)).toEqual(['/json/crashed']);
    expect(postRow(crashed)).toMatchObject({ state: 'posted', attempts: 2 });
  });

  it('when a claim is fresh (another process is posting), then this run leaves it alone', async () => {
    const id = add('/json/in');
    ctx.channels.claim(id, { digestDate: DATE, cadence: 'daily' }, NOW, NOW);
    expect(await postChannels(deps(), DATE, 'daily')).toMatchObject({ posted: 0, alreadyPosted: 1 });
    expect(hooks.received).toHaveLength(0);
  });
});
