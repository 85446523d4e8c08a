import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verpAddress } from '../src/bounces/verp.ts';
import { createReportParser } from '../src/bounces/classify/report-parser.ts';
import { BENCH_FROM, BENCH_PUBLIC_URL, BENCH_SECRET, seedSubscribers } from './fixtures.ts';
import { hostileReports } from './hostile-reports.ts';
import { medianBy } from './report.ts';
import { startSink } from './sink.ts';
import { toSmtpData } from './raw-smtp-client.ts';

/**
 * The bounce intake under a burst: real reports (tests/fixtures/bounces, each made distinct by its
 * own Message-ID, each to a signed VERP address) replayed into the running service's SMTP receiver
 * by `clients` clients from 127.0.0.2 on (so the per-client cap does not bind), against the same
 * replay into a sink that only counts (the ceiling of the clients and the loopback). While it
 * runs, a client asks /healthz every 20 ms. RSS is the service process's, after the first 1,000
 * reports and at the end. Then the parse time of hostile reports on the report parser's thread,
 * against the median real report.
 */
export interface IntakeResult {
  reports: number;
  clients: number;
  reportsPerSec: number;
  ceilingPerSec: number;
  rssAt1kMb: number;
  rssAtEndMb: number;
  healthP99Ms: number;
  healthIdleP99Ms: number;
  hostile: { name: string; bytes: number; ms: number }[];
  realReportMs: number;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const DOMAIN = 'bench.localhost';
const CLIENTS = 8;
const PER_SESSION = 100;

function fixtureReports(): Buffer[] {
  const dir = join(root, 'tests', 'fixtures', 'bounces', 'mail');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => readFileSync(join(dir, f)));
}

/** The i-th report of the burst: a real one, its own Message-ID in front, SMTP-ready. */
const nthReport = (reports: Buffer[], i: number) =>
  toSmtpData(
    Buffer.concat([Buffer.from(`Message-ID: <burst-${i}@bench.localhost>\r\n`), reports[i % reports.length]!]),
  );

/** One client's session loop: reconnects every PER_SESSION messages (the receiver's cap). */
async function replay(
  port: number,
  localAddress: string,
  take: () => number | null,
  data: (i: number) => Buffer,
  answered: () => void,
) {
  let i = take();
  while (i !== null) {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    const replies = lineReplies(socket);
    await replies.next('220');
    socket.write('EHLO bench.localhost\r\n');
    await replies.next('250');
    for (let n = 0; n < PER_SESSION && i !== null; n++, i = take()) {
      const rcpt = verpAddress({ subscriberId: (i % 1000) + 1 }, BENCH_SECRET, DOMAIN);
      socket.write(`MAIL FROM:<>\r\nRCPT TO:<${rcpt}>\r\nDATA\r\n`);
      await replies.next('250');
      await replies.next('250');
      await replies.next('354');
      socket.write(data(i));
      await replies.next('250');
      answered();
    }
    socket.end('QUIT\r\n');
  }
}

/** SMTP replies off a socket, one final line at a time. */
function lineReplies(socket: Socket) {
  let buffer = '';
  const lines: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let at: number;
    while ((at = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      if (line[3] === '-') continue;
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w(line);
      } else lines.push(line);
    }
  });
  return {
    async next(code: string): Promise<string> {
      const line = lines.shift() ?? (await new Promise<string>((resolve) => (waiting = resolve)));
      if (!line.startsWith(code)) throw new Error(`expected ${code}, got "${line}"`);
      return line;
    },
  };
}

async function burst(port: number, count: number, data: (i: number) => Buffer, onProgress?: (done: number) => void) {
  let issued = 0;
  let done = 0;
  const take = () => (issued < count ? issued++ : null);
  const answered = () => onProgress?.(++done);
  const started = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => replay(port, `127.0.0.${c + 2}`, take, data, answered)));
  return count / ((performance.now() - started) / 1000);
}

const rssMb = (pid: number) => {
  const kb = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb ? Number(kb) / 1024 : NaN;
};

const p99 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]! : NaN);

/** /healthz asked every 20 ms until stopped; the answer times. */
function pollHealth(url: string) {
  const times: number[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const t0 = performance.now();
      const res = await fetch(`${url}/healthz`);
      await res.arrayBuffer();
      times.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      on = false;
      await loop;
      return times;
    },
  };
}

async function startService(dir: string, port: number, bouncePort: number): Promise<ChildProcess> {
  const dbPath = join(dir, 'intake.sqlite');
  seedSubscribers(dbPath, 1000);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      BOUNCE_SMTP_PORT: String(bouncePort),
      BOUNCE_DOMAIN: DOMAIN,
      DATABASE_PATH: dbPath,
      OUTBOX_DIR: join(dir, 'intake-outbox'),
      MAIL_FROM: BENCH_FROM,
      PUBLIC_URL: BENCH_PUBLIC_URL,
      SECRET: BENCH_SECRET,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 300; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the service did not answer /healthz within 30 s');
}

/** A free TCP port on 127.0.0.1. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });

export async function measureIntake(dir: string, reports: number): Promise<IntakeResult> {
  const ports = [await freePort(), await freePort()] as const;
  const real = fixtureReports();
  const data = (i: number) => nthReport(real, i);
  const sink = await startSink();
  let ceilingPerSec: number;
  try {
    ceilingPerSec = await burst(sink.port, Math.min(reports, 5000), data);
  } finally {
    await sink.stop();
  }
  const service = await startService(dir, ports[0], ports[1]);
  const url = `http://127.0.0.1:${ports[0]}`;
  try {
    const idle = pollHealth(url);
    await new Promise((r) => setTimeout(r, 2000));
    const healthIdleP99Ms = p99(await idle.stop());
    const health = pollHealth(url);
    let rssAt1kMb = NaN;
    const reportsPerSec = await burst(ports[1], reports, data, (done) => {
      if (done === 1000) rssAt1kMb = rssMb(service.pid!);
    });
    const healthP99Ms = p99(await health.stop());
    const rssAtEndMb = rssMb(service.pid!);
    return {
      reports,
      clients: CLIENTS,
      reportsPerSec,
      ceilingPerSec,
      rssAt1kMb,
      rssAtEndMb,
      healthP99Ms,
      healthIdleP99Ms,
      ...(await hostileParseTimes(real)),
    };
  } finally {
    service.kill('SIGTERM');
    await new Promise((r) => service.once('close', r));
  }
}

/** Each hostile report of 100 KB and of 1 MB (BOUNCE_MAX_BYTES' default) parsed once on a warm thread. */
async function hostileParseTimes(real: Buffer[]) {
  const parser = createReportParser({ timeoutMs: 120_000 });
  try {
    const time = async (raw: Buffer) => {
      const t0 = performance.now();
      await parser.parse(raw).catch(() => undefined);
      return performance.now() - t0;
    };
    await time(real[0]!);
    const realTimes: number[] = [];
    for (const raw of real) realTimes.push(await time(raw));
    const hostile: IntakeResult['hostile'] = [];
    for (const bytes of [100_000, 1_000_000])
      for (const h of hostileReports(bytes)) hostile.push({ name: h.name, bytes: h.raw.length, ms: await time(h.raw) });
    return { hostile, realReportMs: medianBy(realTimes, (x) => x) };
  } finally {
    await parser.close();
  }
}
