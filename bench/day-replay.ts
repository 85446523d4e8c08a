// `npx tsx bench/day-replay.ts [--readers N]`: a day of DELIVERY_MODE=local replayed. N readers
// (default 100,000) over 40 zones, the largest slice 40 %, in a database seeded like the send
// section's; the real scheduler and sendDigest send every slice for real into the SMTP sink (a
// process of its own), on a clock that runs at real speed while a slice is sent and jumps to the
// next slice's hour when idle. Prints per slice the lag from its hour to its last message handed
// over, and the load per minute of the day (messages handed over per clock minute).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../src/db/connection.ts';
import { createLogger } from '../src/logger.ts';
import { BENCH_FROM, BENCH_PUBLIC_URL, BENCH_SECRET, seedSubscribers } from './fixtures.ts';
import { startSink } from './sink.ts';
import { startPapersApi } from './papers-api.ts';
import { killAllWorkers } from './ipc.ts';

/** 40 zones, far east to far west; the first holds 40 % of the readers, the rest share the others. */
const ZONES = [
  'Europe/Berlin',
  'Pacific/Kiritimati',
  'Pacific/Auckland',
  'Pacific/Chatham',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Australia/Adelaide',
  'Asia/Tokyo',
  'Asia/Seoul',
  'Asia/Shanghai',
  'Asia/Singapore',
  'Asia/Jakarta',
  'Asia/Kathmandu',
  'Asia/Kolkata',
  'Asia/Karachi',
  'Asia/Dubai',
  'Asia/Tehran',
  'Europe/Moscow',
  'Europe/Istanbul',
  'Africa/Nairobi',
  'Europe/Athens',
  'Africa/Cairo',
  'Europe/Paris',
  'Europe/London',
  'Africa/Lagos',
  'Atlantic/Azores',
  'Atlantic/Cape_Verde',
  'America/Noronha',
  'America/Sao_Paulo',
  'America/Argentina/Buenos_Aires',
  'America/St_Johns',
  'America/Halifax',
  'America/New_York',
  'America/Chicago',
  'America/Denver',
  'America/Phoenix',
  'America/Los_Angeles',
  'America/Anchorage',
  'Pacific/Honolulu',
  'Pacific/Pago_Pago',
];
/** The UTC day holding every slice of the run of 2026-11-24 (each zone's morning of it). */
const START = Date.parse('2026-11-24T23:59:00Z');
const END = Date.parse('2026-11-26T00:00:00Z');
const MINUTE_MS = 60_000;

const { values } = parseArgs({ options: { readers: { type: 'string' } } });
const readers = Number(values.readers ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'paperboy-bench-day-'));
const dbPath = join(dir, 'bench.sqlite');

/** The readers' zones: 40 % in the first zone at 07:00, the rest round-robin over the others at 05:00–11:00. */
function placeReaders(n: number): void {
  seedSubscribers(dbPath, n);
  const db = openDatabase(dbPath);
  const set = db.prepare('UPDATE subscribers SET timezone = ?, delivery_hour = ? WHERE id = ?');
  const largest = Math.ceil(n * 0.4);
  // The days before were sent: the replay starts in a steady state, not in a catch-up.
  const sent = db.prepare(
    `INSERT INTO send_runs (digest_date, cadence, status, started_at, updated_at) VALUES (?, 'daily', 'done', ?, ?)`,
  );
  db.transaction(() => {
    for (let id = 1; id <= n; id++) {
      if (id <= largest) set.run(ZONES[0], 7, id);
      else set.run(ZONES[1 + (id % (ZONES.length - 1))], 5 + (id % 7), id);
    }
    for (const date of ['2026-11-21', '2026-11-22', '2026-11-23'])
      sent.run(date, '2026-12-01T00:00:00.000Z', new Date(START).toISOString());
  })();
  db.close();
}

/** A clock that runs at real speed from `virtual`, and can jump ahead. */
function replayClock(start: number) {
  let base = start;
  let realBase = performance.now();
  return {
    now: () => new Date(base + (performance.now() - realBase)),
    jumpTo(at: number) {
      base = at;
      realBase = performance.now();
    },
  };
}

interface SliceFigure {
  date: string;
  hour: string;
  readers: number;
  lagS: number;
  sendS: number;
}

async function main(): Promise<void> {
  console.error(`seeding ${readers} readers over ${ZONES.length} zones…`);
  placeReaders(readers);
  const sink = await startSink();
  const api = await startPapersApi(100);
  const { loadConfig } = await import('../src/config.ts');
  const { createContext, sendDigestDeps } = await import('../src/context.ts');
  const { sendDigest } = await import('../src/digest/run.ts');
  const { startScheduler, morningOf, editionSchedule } = await import('../src/jobs/scheduler.ts');
  const { nextSlice, effectiveGroups, defaultMorningHour } = await import('../src/jobs/local-morning.ts');
  const config = loadConfig({
    DATABASE_PATH: dbPath,
    OUTBOX_DIR: `${dbPath}.outbox`,
    SMTP_URL: sink.url,
    SEND_RATE_PER_SEC: '0',
    MAIL_FROM: BENCH_FROM,
    PUBLIC_URL: BENCH_PUBLIC_URL,
    SECRET: BENCH_SECRET,
    PAPERS_API_URL: api.url,
    LOG_LEVEL: 'silent',
    DIGEST_CRON: '0 7 * * *',
    DIGEST_TZ: 'UTC',
    DELIVERY_MODE: 'local',
  });
  const clock = replayClock(START);
  const silent = createLogger('silent');
  const ctx = createContext(config, silent, { clock });
  const deps = await sendDigestDeps(ctx);
  const perMinute = new Map<number, number>();
  let lastHanded = 0;
  const mailer = deps.mailer;
  deps.mailer = {
    sendPrebuilt: async (m, signal) => {
      const r = await mailer.sendPrebuilt(m, signal);
      lastHanded = clock.now().getTime();
      const minute = Math.floor(lastHanded / MINUTE_MS);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
      return r;
    },
  };
  const slices: SliceFigure[] = [];
  let sending = false;
  const scheduler = startScheduler(
    { config, clock, logger: silent, ledger: ctx.ledger },
    {
      checkEveryMs: 100,
      send: async (o) => {
        sending = true;
        const started = performance.now();
        lastHanded = 0;
        try {
          const r = await sendDigest(deps, o);
          const at = o.slice?.at.getTime() ?? clock.now().getTime();
          if (r.sent)
            slices.push({
              date: `${o.cadence} ${o.date}`,
              hour: new Date(at).toISOString().slice(0, 16),
              readers: r.sent,
              lagS: (lastHanded - at) / 1000,
              sendS: (performance.now() - started) / 1000,
            });
          return r;
        } finally {
          sending = false;
        }
      },
    },
  );
  const hour = defaultMorningHour(editionSchedule(config.DIGEST_CRON));
  const morning = morningOf(config, 'daily');
  const groups = effectiveGroups(ctx.ledger.audienceGroups('daily'), hour);
  // Idle: jump to the next slice's hour (or the end of the window).
  while (clock.now().getTime() < END || sending) {
    await new Promise((r) => setTimeout(r, 300));
    if (sending) continue;
    const next = nextSlice(clock.now(), morning, groups, false);
    const to = Math.min(next?.at.getTime() ?? END, END);
    if (to > clock.now().getTime() + 1000) clock.jumpTo(to);
    else if (to >= END) break;
  }
  await scheduler.stop();
  report(slices, perMinute);
  ctx.close();
  await api.close();
  await sink.stop();
}

function report(slices: SliceFigure[], perMinute: Map<number, number>): void {
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(`# A day replayed: ${readers} readers, ${ZONES.length} zones (load average ${load})\n`);
  console.log('| run | slice (UTC) | readers | lag to last message (s) | send (s) |');
  console.log('|---|---|---:|---:|---:|');
  for (const s of slices)
    console.log(`| ${s.date} | ${s.hour} | ${s.readers} | ${s.lagS.toFixed(1)} | ${s.sendS.toFixed(1)} |`);
  const minutes = [...perMinute.values()];
  const total = minutes.reduce((a, b) => a + b, 0);
  const peak = Math.max(0, ...minutes);
  const busy = minutes.filter((n) => n > 0).length;
  const byHour = new Map<string, number>();
  for (const [minute, n] of perMinute) {
    const h = new Date(minute * MINUTE_MS).toISOString().slice(0, 13);
    byHour.set(h, (byHour.get(h) ?? 0) + n);
  }
  console.log(`\nLoad per minute: ${total} messages in ${busy} minutes with sends; peak ${peak}/min.`);
  console.log(`Per UTC hour: ${[...byHour].map(([h, n]) => `${h.slice(5)}h ${n}`).join(', ')}`);
}

try {
  await main();
} finally {
  killAllWorkers();
  rmSync(dir, { recursive: true, force: true });
}
