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
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ email: `load${emailCounter++}.${run}@bench.localhost` }) }),
      },
    ],
  });
}

/** One server (bare or product) in its own process on a fresh database (`run` names it), warmed for 1 s, then loaded for `seconds`. */
export async function measureSubscribe(mode: ServerMode, dir: string, seconds: number, connections: number, run = 0): Promise<LoadResult> {
  return withWorker('http', async (w) => {
    const { port } = await w.call<{ port: number }>('start', { mode, dir, run }, 60_000);
    // One request by hand first: a route that answers 4xx/5xx would make the load figures meaningless.
    const probe = await fetch(`http://127.0.0.1:${port}/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ email: `probe.${mode}@bench.localhost` }),
    });
    if (probe.status >= 300) throw new Error(`${mode} POST /subscribe answered ${probe.status}: ${(await probe.text()).slice(0, 200)}`);
    await load(port, 1, connections);
    await w.call('resetUsage');
    const r = await load(port, seconds, connections);
    const usage = await w.call<{ cpuMs: number; rssMb: number }>('usage');
    await w.call('stop', null, 10_000);
    const statusCodes = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, Number(v.count)]));
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
    };
  });
}
