import { afterEach, describe, expect, it } from 'vitest';
import { renderQueuedMail } from '../../src/mail/mail-queue.ts';
import { createTestApp, ManualClock, type TestApp } from '../support/test-app.ts';
import { seedSubscribers } from '../support/digest-harness.ts';

const TOKEN = 'metrics-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const start = async (env: Record<string, string> = { METRICS_TOKEN: TOKEN }) => {
  t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0', ...env }, { clock: new ManualClock() });
  return t;
};

async function scrape(app: TestApp['app']): Promise<string> {
  const res = await app.inject({ url: '/metrics', headers: AUTH });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.body;
}

/** The value of one series in Prometheus text, or undefined when it is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const subscribe = (app: TestApp['app'], email: string) =>
  app.inject({
    method: 'POST',
    url: '/subscribe',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ email }),
  });

describe('GET /metrics: who may read it', () => {
  it('when METRICS_TOKEN is not set, then /metrics is a 404 like any unknown page', async () => {
    const { app } = await start({});
    const res = await app.inject({ url: '/metrics', headers: AUTH });
    expect(res.statusCode).toBe(404);
    expect(res.body).toBe((await app.inject('/no-such-page')).body);
  });

  it('when no token or a wrong one is sent, then 401 with a Bearer challenge and no metrics', async () => {
    const { app } = await start();
    for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, TOKEN]) {
      const res = await app.inject({ url: '/metrics', headers: authorization ? { authorization } : {} });
      expect(res.statusCode, String(authorization)).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.body).not.toContain('paperboy_');
    }
  });
});

describe('GET /metrics: what it says', () => {
  it('when people sign up, confirm and leave, then the subscriber gauges and event counters follow', async () => {
    const { app, ctx, templates } = await start();
    const clock = ctx.clock as ManualClock;
    const before = await scrape(app);
    expect(sample(before, 'paperboy_subscribers', { status: 'pending' })).toBe(0);
    expect(sample(before, 'paperboy_subscriber_events_total', { event: 'signup' })).toBe(0);

    expect((await subscribe(app, 'ada@example.org')).statusCode).toBe(202);
    expect((await subscribe(app, 'bob@example.org')).statusCode).toBe(202);
    // Asking again while pending sends another confirmation: it is not a second sign-up.
    expect((await subscribe(app, 'bob@example.org')).statusCode).toBe(202);
    let text = await scrape(app);
    expect(sample(text, 'paperboy_subscribers', { status: 'pending' })).toBe(2);
    expect(sample(text, 'paperboy_subscriber_events_total', { event: 'signup' })).toBe(2);
    expect(sample(text, 'paperboy_mail_queue_messages', { status: 'queued' })).toBe(3);
    expect(sample(text, 'paperboy_mail_queue_oldest_age_seconds')).toBe(0);
    clock.advance(90_000);
    expect(sample(await scrape(app), 'paperboy_mail_queue_oldest_age_seconds')).toBe(90);

    const row = ctx.db.prepare(`SELECT payload FROM mail_queue WHERE recipient = 'ada@example.org'`).get() as {
      payload: string;
    };
    const mail = renderQueuedMail(templates, { kind: 'confirm', payload: JSON.parse(row.payload) });
    const confirmUrl = new URL(/https:\/\/papers\.example\.org\/confirm\/[\w-]+/.exec(mail.text)![0]);
    expect((await app.inject({ method: 'POST', url: confirmUrl.pathname })).statusCode).toBe(200);
    const id = (ctx.db.prepare(`SELECT id FROM subscribers WHERE email = 'ada@example.org'`).get() as { id: number })
      .id;
    ctx.subscribers.unsubscribe(id, '2026-11-25T09:00:00.000Z');
    expect((await subscribe(app, 'ada@example.org')).statusCode).toBe(202);

    text = await scrape(app);
    expect(sample(text, 'paperboy_subscriber_events_total', { event: 'confirmation' })).toBe(1);
    expect(sample(text, 'paperboy_subscriber_events_total', { event: 'unsubscribe' })).toBe(1);
    expect(sample(text, 'paperboy_subscriber_events_total', { event: 'signup' })).toBe(3);
    expect(sample(text, 'paperboy_subscribers', { status: 'pending' })).toBe(2);
    expect(sample(text, 'paperboy_subscribers', { status: 'confirmed' })).toBe(0);
    expect(text).toContain('# TYPE paperboy_subscriber_events_total counter');
  });

  it('when the confirmation caps hold emails back, then paperboy_confirmations_capped_total counts them by scope', async () => {
    const { app } = await start({
      METRICS_TOKEN: TOKEN,
      CONFIRMATIONS_PER_ADDRESS_PER_HOUR: '1',
      CONFIRMATIONS_PER_DOMAIN_PER_HOUR: '2',
    });
    const before = await scrape(app);
    expect(before).toContain('# TYPE paperboy_confirmations_capped_total counter');
    expect(sample(before, 'paperboy_confirmations_capped_total', { scope: 'address' })).toBe(0);
    expect(sample(before, 'paperboy_confirmations_capped_total', { scope: 'domain' })).toBe(0);

    for (const email of ['ada@small.example', 'ada+1@small.example', 'bob@small.example', 'eve@small.example'])
      expect((await subscribe(app, email)).statusCode).toBe(202);
    expect((await subscribe(app, 'zoe@small.example')).statusCode).toBe(202);
    const text = await scrape(app);
    expect(sample(text, 'paperboy_confirmations_capped_total', { scope: 'address' })).toBe(1);
    expect(sample(text, 'paperboy_confirmations_capped_total', { scope: 'domain' })).toBe(2);
  });

  it('when digest runs exist, then each recent run has its counts and the last run its date, status and duration', async () => {
    const { app, ctx } = await start();
    const addRun = ctx.db.prepare(
      `INSERT INTO send_runs (digest_date, status, started_at, finished_at, sent, failed, skipped, settled_through, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    addRun.run(
      '2026-11-23',
      'done',
      '2026-11-24T07:00:00.000Z',
      '2026-11-24T07:02:30.000Z',
      40,
      2,
      1,
      43,
      '2026-11-24T07:02:30.000Z',
    );
    const paused = addRun.run(
      '2026-11-24',
      'paused',
      '2026-11-25T07:00:00.000Z',
      null,
      10,
      3,
      0,
      2,
      '2026-11-25T07:00:45.000Z',
    );
    const now = '2026-11-20T00:00:00.000Z';
    const addSubscriber = ctx.db.prepare(
      `INSERT INTO subscribers (id, email, status, created_at, updated_at) VALUES (?, ?, 'confirmed', ?, ?)`,
    );
    for (let id = 1; id <= 5; id++) addSubscriber.run(id, `s${id}@example.org`, now, now);
    // Subscriber 2 waits for a retry; 3, 4 and 5 are above the settled mark (2).
    ctx.db
      .prepare(`INSERT INTO send_deliveries (run_id, subscriber_id, status) VALUES (?, 2, 'pending')`)
      .run(paused.lastInsertRowid);

    const text = await scrape(app);
    const run = (digest_date: string, outcome: string) =>
      sample(text, 'paperboy_digest_run_recipients', { digest_date, outcome });
    expect([
      run('2026-11-23', 'sent'),
      run('2026-11-23', 'failed'),
      run('2026-11-23', 'skipped'),
      run('2026-11-23', 'pending'),
    ]).toEqual([40, 2, 1, 0]);
    expect([run('2026-11-24', 'sent'), run('2026-11-24', 'failed'), run('2026-11-24', 'pending')]).toEqual([10, 3, 4]);
    expect(sample(text, 'paperboy_last_digest_run_info', { digest_date: '2026-11-24', status: 'paused' })).toBe(1);
    expect(sample(text, 'paperboy_last_digest_run_info', { digest_date: '2026-11-23' })).toBeUndefined();
    expect(sample(text, 'paperboy_last_digest_run_duration_seconds')).toBe(45);
    expect(sample(text, 'paperboy_last_digest_run_end_timestamp_seconds')).toBe(0);

    ctx.db
      .prepare(`UPDATE send_runs SET status = 'done', finished_at = ?, updated_at = ? WHERE digest_date = '2026-11-24'`)
      .run('2026-11-25T07:05:00.000Z', '2026-11-25T07:05:00.000Z');
    const after = await scrape(app);
    expect(sample(after, 'paperboy_last_digest_run_info', { digest_date: '2026-11-24', status: 'done' })).toBe(1);
    expect(sample(after, 'paperboy_last_digest_run_duration_seconds')).toBe(300);
    expect(sample(after, 'paperboy_last_digest_run_end_timestamp_seconds')).toBe(
      Date.parse('2026-11-25T07:05:00.000Z') / 1000,
    );
    expect(sample(after, 'paperboy_digest_run_recipients', { digest_date: '2026-11-24', outcome: 'pending' })).toBe(0);
  });

  it('when readers are in zones, then the next slice’s time and size are shown per cadence; in batch mode, the next send of everyone', async () => {
    for (const mode of ['local', 'batch']) {
      const { app, ctx } = await start({ METRICS_TOKEN: TOKEN, DELIVERY_MODE: mode, DIGEST_CRON: '0 7 * * *' });
      const ids = seedSubscribers(ctx.db, 4);
      const setZone = ctx.db.prepare('UPDATE subscribers SET timezone = ?, delivery_hour = ? WHERE id = ?');
      setZone.run('America/New_York', 7, ids[0]); // 12:00 UTC, after the clock's 08:00
      setZone.run('America/New_York', 7, ids[1]);
      setZone.run('Asia/Tokyo', 9, ids[2]); // 00:00 UTC tomorrow
      const text = await scrape(app); // the fourth: no zone, 07:00 UTC tomorrow
      const next = mode === 'local' ? ['2026-11-25T12:00:00Z', 2] : ['2026-11-26T07:00:00Z', 4];
      expect(sample(text, 'paperboy_digest_next_slice_timestamp_seconds', { cadence: 'daily' }), mode).toBe(
        Date.parse(next[0] as string) / 1000,
      );
      expect(sample(text, 'paperboy_digest_next_slice_readers', { cadence: 'daily' }), mode).toBe(next[1]);
      expect(sample(text, 'paperboy_digest_next_slice_timestamp_seconds', { cadence: 'weekly' })).toBeUndefined();
      expect(sample(text, 'paperboy_digest_next_slice_readers', { cadence: 'weekly' })).toBe(0);
      await t?.close();
      t = undefined;
    }
  });

  it('when more runs exist than are reported, then only the latest dates have series', async () => {
    const { app, ctx } = await start();
    const addRun = ctx.db.prepare(
      `INSERT INTO send_runs (digest_date, status, started_at, updated_at) VALUES (?, 'done', ?, ?)`,
    );
    for (let day = 1; day <= 20; day++)
      addRun.run(`2026-11-${String(day).padStart(2, '0')}`, '2026-11-25T07:00:00.000Z', '2026-11-25T07:00:00.000Z');
    const dates = new Set(
      [...(await scrape(app)).matchAll(/^paperboy_digest_run_recipients\{digest_date="([^"]+)"/gm)].map((m) => m[1]),
    );
    expect(dates.size).toBe(14);
    expect(dates.has('2026-11-20')).toBe(true);
    expect(dates.has('2026-11-06')).toBe(false);
  });

  it('when requests have been answered, then their latency is recorded by route pattern and status class', async () => {
    const { app } = await start();
    await app.inject('/healthz');
    await app.inject('/digests/2026-11-01');
    await app.inject('/wp-login.php');
    const text = await scrape(app);
    expect(
      sample(text, 'paperboy_http_request_duration_seconds_count', {
        method: 'GET',
        route: '/healthz',
        status_class: '2xx',
      }),
    ).toBe(1);
    expect(
      sample(text, 'paperboy_http_request_duration_seconds_count', { route: '/digests/:date', status_class: '4xx' }),
    ).toBe(1);
    expect(
      sample(text, 'paperboy_http_request_duration_seconds_count', { route: 'unmatched', status_class: '4xx' }),
    ).toBe(1);
    expect(text).not.toContain('wp-login');
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('when bounce reports are recorded, then they are counted by kind', async () => {
    const { app, ctx } = await start();
    const insert = ctx.db.prepare(
      `INSERT INTO bounce_events (kind, reason, source, report_key, recipient_hash, created_at) VALUES (?, 'r', 'import:test', ?, 'h', '2026-11-25T09:00:00.000Z')`,
    );
    for (const [i, kind] of ['hard', 'hard', 'complaint', 'soft'].entries()) insert.run(kind, `report-${i}`);
    const text = await scrape(app);
    expect(sample(text, 'paperboy_bounces_total', { kind: 'hard' })).toBe(2);
    expect(sample(text, 'paperboy_bounces_total', { kind: 'complaint' })).toBe(1);
    expect(sample(text, 'paperboy_bounces_total', { kind: 'ignore' })).toBe(0);
    insert.run('complaint', 'report-4');
    expect(sample(await scrape(app), 'paperboy_bounces_total', { kind: 'complaint' })).toBe(2);
  });

  it("when receivers refuse us for the sender's reasons, then the refusals are counted per big provider by name and the rest as other", async () => {
    const { app, ctx } = await start();
    const insert = ctx.db.prepare(
      `INSERT INTO bounce_events (kind, reason, source, report_key, recipient_hash, domain, created_at) VALUES (?, 'spam', 'smtp:send', ?, 'h', ?, '2026-11-25T09:00:00.000Z')`,
    );
    const refusals: [string, string | null][] = [
      ['sender', 'gmail.com'],
      ['sender', 'gmail.com'],
      ['sender', 'outlook.com'],
      ['sender', 'small-isp.example'],
      ['sender', 'another.example'],
      ['sender', null],
      ['soft', 'gmail.com'],
    ];
    for (const [i, [kind, domain]] of refusals.entries()) insert.run(kind, `report-${i}`, domain);
    const text = await scrape(app);
    expect(sample(text, 'paperboy_sender_refusals_total', { domain: 'gmail.com' })).toBe(2);
    expect(sample(text, 'paperboy_sender_refusals_total', { domain: 'outlook.com' })).toBe(1);
    expect(sample(text, 'paperboy_sender_refusals_total', { domain: 'yahoo.com' })).toBe(0);
    expect(sample(text, 'paperboy_sender_refusals_total', { domain: 'other' })).toBe(3);
    expect(text).not.toContain('small-isp.example');
    expect(sample(text, 'paperboy_bounces_total', { kind: 'sender' })).toBe(6);
  });
});
