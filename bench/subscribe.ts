import { createRequire } from 'node:module';
import { withWorker } from './ipc.ts';
import type { ServerMode } from './subscribe-worker.ts';

/** The part of autocannon's API the bench uses (the package ships no types). */
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
  onResponse?: (status: number, body: string, context: Record<string, unknown>) => void;
}
interface Histogram {
  average: number;
  mean: number;
  stddev: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
  total?: number;
}
interface AutocannonResult {
  requests: Histogram & { total: number; sent: number };
  latency: Histogram;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  pipelining?: number;
  timeout?: number;
  requests: AutocannonRequest[];
}
type Autocannon = (opts: AutocannonOptions) => Promise<AutocannonResult>;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface LoadResult {
  mode: ServerMode;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  /** Server process CPU per request, ms. */
  serverCpuMsPerReq: number;
  serverRssMb: number;
  /** Under abuse: the figures of each share of the mix (the top-level ones are the whole mix's). */
  shares?: Record<Share, ShareResult>;
}

/**
 * The request mix under abuse, in tenths: 7 sign-ups from many addresses, 2 from one address over its limit, 1
 * hostile body.
 */
type Share = 'legitimate' | 'over-limit' | 'hostile';
interface ShareResult {
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  statusCodes: Record<string, number>;
}

let emailCounter = 0;

/** POST /subscribe, JSON, a new address on every request (duplicates would hit other code paths). */
function load(port: number, seconds: number, connections: number): Promise<AutocannonResult> {
  const run = `${process.pid}-${Date.now().toString(36)}`;
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: '/subscribe',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({ email: `load${emailCounter++}.${run}@bench.localhost` }),
        }),
      },
    ],
  });
}

/** The one address far over SUBSCRIBE_RATE_PER_IP (a documentation range, RFC 5737). */
const ABUSER = '198.51.100.7';
/** Client addresses from a counter: 10.0.0.0/8 for sign-ups, 172.16.0.0/12 for hostile bodies. */
const address = (net: number, i: number) => `${net}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/**
 * Bodies an attacker or a broken client sends; each is refused before any write. No body over the
 * 8 KB limit: its 413 closes the connection (Fastify's choice, as the body is left unread), and a
 * closed-loop load generator would then measure its own reconnections, not the server.
 */
const HOSTILE: { name: string; contentType: string; body: (i: number) => string }[] = [
  {
    name: 'invalid email',
    contentType: 'application/json',
    body: (i) => JSON.stringify({ email: `not an address ${i}` }),
  },
  // Within the 8 KB body limit: the validation itself has to refuse it.
  {
    name: 'huge field',
    contentType: 'application/json',
    body: (i) => JSON.stringify({ email: `${'a'.repeat(7_000)}${i}@bench.localhost`, keywords: 'x,'.repeat(300) }),
  },
  { name: 'wrong content type', contentType: 'text/plain', body: (i) => `email=plain${i}@bench.localhost` },
  {
    name: 'JSON with junk',
    contentType: 'application/json',
    body: (i) => `{"email": "junk${i}@bench.localhost", "keywords": [1, {"$gt": ""}], ,,}`,
  },
];

function percentile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : 0;
}

/**
 * POST /subscribe under abuse: of every 10 requests, 7 sign-ups each from its own address, 2 from
 * one address far over its limit, 1 hostile body (the kinds in turn). Every client address is an
 * X-Forwarded-For written by the trusted proxy on the loopback. Latency per share is timed here,
 * from building a request to its answer (one request in flight per connection).
 */
async function loadAbuse(
  port: number,
  seconds: number,
  connections: number,
): Promise<{ r: AutocannonResult; shares: Record<Share, ShareResult> }> {
  const run = `${process.pid}-${Date.now().toString(36)}`;
  let i = 0;
  let signUps = 0;
  const latencies: Record<Share, number[]> = { legitimate: [], 'over-limit': [], hostile: [] };
  const codes: Record<Share, Record<string, number>> = { legitimate: {}, 'over-limit': {}, hostile: {} };
  const r = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: '/subscribe',
        setupRequest: (req, context) => {
          const n = i++;
          const slot = n % 10;
          context.t0 = performance.now();
          if (slot < 7) {
            context.share = 'legitimate';
            const k = signUps++;
            return {
              ...req,
              headers: {
                'content-type': 'application/json',
                accept: 'application/json',
                'x-forwarded-for': address(10, k),
              },
              body: JSON.stringify({ email: `load${k}.${run}@bench.localhost` }),
            };
          }
          if (slot < 9) {
            context.share = 'over-limit';
            return {
              ...req,
              headers: { 'content-type': 'application/json', accept: 'application/json', 'x-forwarded-for': ABUSER },
              body: JSON.stringify({ email: `again${n}.${run}@bench.localhost` }),
            };
          }
          context.share = 'hostile';
          const h = HOSTILE[Math.floor(n / 10) % HOSTILE.length]!;
          return {
            ...req,
            headers: { 'content-type': h.contentType, accept: 'application/json', 'x-forwarded-for': address(172, n) },
            body: h.body(n),
          };
        },
        onResponse: (status, _body, context) => {
          const share = context.share as Share;
          latencies[share].push(performance.now() - (context.t0 as number));
          codes[share][status] = (codes[share][status] ?? 0) + 1;
        },
      },
    ],
  });
  const shares = Object.fromEntries(
    (Object.keys(latencies) as Share[]).map((share) => {
      const sorted = latencies[share].sort((a, b) => a - b);
      const round = (x: number) => Math.round(x * 10) / 10;
      return [
        share,
        {
          requests: sorted.length,
          reqPerSec: sorted.length / r.duration,
          p50Ms: round(percentile(sorted, 0.5)),
          p99Ms: round(percentile(sorted, 0.99)),
          statusCodes: codes[share],
        },
      ];
    }),
  ) as Record<Share, ShareResult>;
  return { r, shares };
}

/**
 * One server (bare, product or product under abuse) in its own process on a fresh database (`run` names it), warmed
 * for 1 s, then loaded for `seconds`.
 */
export async function measureSubscribe(
  mode: ServerMode,
  dir: string,
  seconds: number,
  connections: number,
  run = 0,
): Promise<LoadResult> {
  return withWorker('http', async (w) => {
    const { port } = await w.call<{ port: number }>('start', { mode, dir, run }, 60_000);
    // One request by hand first: a route that answers 4xx/5xx would make the load figures meaningless.
    const probe = await fetch(`http://127.0.0.1:${port}/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ email: `probe.${mode}@bench.localhost` }),
    });
    if (probe.status >= 300)
      throw new Error(`${mode} POST /subscribe answered ${probe.status}: ${(await probe.text()).slice(0, 200)}`);
    // Warmed with the same mix it is measured with.
    await (mode === 'abuse' ? loadAbuse(port, 1, connections) : load(port, 1, connections));
    await w.call('resetUsage');
    const abused = mode === 'abuse' ? await loadAbuse(port, seconds, connections) : null;
    const r = abused?.r ?? (await load(port, seconds, connections));
    const usage = await w.call<{ cpuMs: number; rssMb: number }>('usage');
    await w.call('stop', null, 10_000);
    const statusCodes = Object.fromEntries(
      Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, Number(v.count)]),
    );
    const total = r.requests.total;
    return {
      mode,
      reqPerSec: total / r.duration,
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      requests: total,
      non2xx: r.non2xx,
      errors: r.errors,
      statusCodes,
      serverCpuMsPerReq: total ? usage.cpuMs / total : 0,
      serverRssMb: usage.rssMb,
      ...(abused ? { shares: abused.shares } : {}),
    };
  });
}
