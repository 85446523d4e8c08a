// A day of DELIVERY_MODE=local replayed: readers over 40 zones, the largest slice 40 %, in a
// database seeded like the send section's; the real scheduler and sendDigest send every slice for
// real into the SMTP sink (a process of its own), on a clock that runs at real speed while a slice
// is sent and jumps to the next slice's hour when idle. Measures per slice the lag from its hour to
// its last message handed over, and the load per minute of the day (messages per clock minute).
import { join } from 'node:path';
import { openDatabase } from '../src/db/connection.ts';
import { createLogger } from '../src/logger.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { createContext, sendDigestDeps } from '../src/context.ts';
import { sendDigest } from '../src/digest/run.ts';
import { morningOf, startScheduler } from '../src/jobs/scheduler.ts';
import { effectiveGroups, nextSlice } from '../src/jobs/local-morning.ts';
import { BENCH_FROM, BENCH_PUBLIC_URL, BENCH_SECRET, seedSubscribers } from './fixtures.ts';
import { startSink } from './sink.ts';
import { startPapersApi } from './papers-api.ts';

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

/** The readers' zones: 40 % in the first zone at 07:00, the rest round-robin over the others at 05:00–11:00. */
function placeReaders(dbPath: string, n: number): void {
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
  /** The slice's hour, UTC, as YYYY-MM-DDTHH:MM. */
  hour: string;
  readers: number;
  /** From the slice's hour to its last message handed over, clock seconds. */
  lagS: number;
  sendS: number;
}

export interface DayResult {
  readers: number;
  zones: number;
  slices: SliceFigure[];
  /** Messages handed over per clock minute (minute since the epoch → count), minutes with sends only. */
  perMinute: [number, number][];
  /** What the sink received: every reader once means recipients = distinct = readers. */
  recipients: number;
  distinctRecipients: number;
}

export const MINUTE_MS = 60_000;

/** Replays the day for `readers` readers in a database under `dir`. */
export async function replayDay(readers: number, dir: string): Promise<DayResult> {
  const dbPath = join(dir, 'day.sqlite');
  placeReaders(dbPath, readers);
  const sink = await startSink();
  const api = await startPapersApi(100);
  try {
    await sink.reset({ trackRecipients: true });
    const day = await sendTheDay(dbPath, sink.url, api.url);
    const stats = await sink.stats();
    return {
      readers,
      zones: ZONES.length,
      ...day,
      recipients: stats.recipients,
      distinctRecipients: stats.distinctRecipients ?? 0,
    };
  } finally {
    await api.close();
    await sink.stop();
  }
}

/** The service's configuration for the replay: local mornings, the default edition at 07:00 UTC. */
function replayConfig(dbPath: string, smtpUrl: string, papersApiUrl: string): Config {
  return loadConfig({
    DATABASE_PATH: dbPath,
    OUTBOX_DIR: `${dbPath}.outbox`,
    SMTP_URL: smtpUrl,
    SEND_RATE_PER_SEC: '0',
    MAIL_FROM: BENCH_FROM,
    PUBLIC_URL: BENCH_PUBLIC_URL,
    SECRET: BENCH_SECRET,
    PAPERS_API_URL: papersApiUrl,
    LOG_LEVEL: 'silent',
    DIGEST_CRON: '0 7 * * *',
    DIGEST_TZ: 'UTC',
    DELIVERY_MODE: 'local',
  });
}

/** The real scheduler sends each slice as its hour comes; the clock jumps over the idle hours. */
async function sendTheDay(
  dbPath: string,
  smtpUrl: string,
  papersApiUrl: string,
): Promise<Pick<DayResult, 'slices' | 'perMinute'>> {
  const config = replayConfig(dbPath, smtpUrl, papersApiUrl);
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
  try {
    const morning = morningOf(config, 'daily');
    const groups = effectiveGroups(ctx.ledger.audienceGroups('daily'), morning.defaultHour);
    // Idle: jump to the next slice's hour (or the end of the window).
    while (clock.now().getTime() < END || sending) {
      await new Promise((r) => setTimeout(r, 300));
      if (sending) continue;
      const next = nextSlice(clock.now(), morning, groups, false);
      const to = Math.min(next?.at.getTime() ?? END, END);
      if (to > clock.now().getTime() + 1000) clock.jumpTo(to);
      else if (to >= END) break;
    }
  } finally {
    await scheduler.stop();
    ctx.close();
  }
  return { slices, perMinute: [...perMinute] };
}
