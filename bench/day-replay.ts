// `npx tsx bench/day-replay.ts [--readers N]`: the day replay of bench/day.ts on its own (default
// 100,000 readers), printing every slice: the lag from its hour to its last message handed over,
// and the load per minute of the day. `npm run bench -- --only day` gives its summary rows.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { killAllWorkers } from './ipc.ts';
import { MINUTE_MS, replayDay, type DayResult } from './day.ts';

const { values } = parseArgs({ options: { readers: { type: 'string' } } });
const readers = Number(values.readers ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'paperboy-bench-day-'));

function report(day: DayResult): void {
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(`# A day replayed: ${day.readers} readers, ${day.zones} zones (load average ${load})\n`);
  console.log('| run | slice (UTC) | readers | lag to last message (s) | send (s) |');
  console.log('|---|---|---:|---:|---:|');
  for (const s of day.slices)
    console.log(`| ${s.date} | ${s.hour} | ${s.readers} | ${s.lagS.toFixed(1)} | ${s.sendS.toFixed(1)} |`);
  const minutes = day.perMinute.map(([, n]) => n);
  const total = minutes.reduce((a, b) => a + b, 0);
  const byHour = new Map<string, number>();
  for (const [minute, n] of day.perMinute) {
    const h = new Date(minute * MINUTE_MS).toISOString().slice(0, 13);
    byHour.set(h, (byHour.get(h) ?? 0) + n);
  }
  console.log(
    `\nLoad per minute: ${total} messages in ${minutes.length} minutes with sends; peak ${Math.max(0, ...minutes)}/min.`,
  );
  console.log(`Per UTC hour: ${[...byHour].map(([h, n]) => `${h.slice(5)}h ${n}`).join(', ')}`);
  console.log(
    `Recipients at the sink: ${day.recipients}, distinct ${day.distinctRecipients} (readers ${day.readers}).`,
  );
}

try {
  console.error(`replaying a day of ${readers} readers…`);
  report(await replayDay(readers, dir));
} finally {
  killAllWorkers();
  rmSync(dir, { recursive: true, force: true });
}
