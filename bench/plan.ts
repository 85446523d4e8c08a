import { parseArgs } from 'node:util';
import type { SenderKind } from './send.ts';

export const USAGE = `Usage: npm run bench -- [--quick | --full] [--only LIST] [--pool N]

Measures the send path, memory, rendering, POST /subscribe, ingest and the bounce intake, each against a baseline
measured in the same run, prints one table and writes the figures as JSON to
data/bench-results/<timestamp>.json. Every server runs on 127.0.0.1, each measured piece in a
child process of its own. Not part of npm test.

  --quick      a short run (~1-2 min): send 1k, memory 1k and 10k, short loads
  --full       adds the 100k send (with baselines) and a 1M-subscriber memory run (long: ~15 min)
  --only LIST  comma-separated sections: render,send,memory,variants,dkim,startup,subscribe,ingest,intake,day
               (default: all)
  --pool N     SMTP pool size for the product and every baseline (default: 5, SMTP_POOL_SIZE's default)
  -h, --help   show this help

Exit status: 0 all targets met, 1 a target missed or a section failed, 2 usage error.`;

type Section =
  'render' | 'send' | 'memory' | 'variants' | 'dkim' | 'startup' | 'subscribe' | 'ingest' | 'intake' | 'day';
const SECTIONS: Section[] = [
  'render',
  'send',
  'memory',
  'variants',
  'dkim',
  'startup',
  'subscribe',
  'ingest',
  'intake',
  'day',
];

export interface Plan {
  mode: 'quick' | 'default' | 'full';
  sections: Section[];
  poolSize: number;
  /** Sizes where the product is compared with the baselines. */
  sendSizes: number[];
  /** Sizes where only the product's peak RSS is wanted (the send sizes give theirs too). */
  memorySizes: number[];
  /** Timed runs per sender kind and size; the table shows the median. */
  repsAt: (n: number, kind: SenderKind) => number;
  compileRuns: number;
  personaliseIterations: number;
  subscribeSeconds: number;
  subscribeConnections: number;
  /** Load runs per server (bare and product alternate); the table shows the medians. */
  subscribeReps: number;
  ingestRuns: number;
  /** Papers in the synthetic day the digest is ranked from. */
  dayPapers: number;
  /**
   * variants: the product over one variant and over many (`variantPreferences`), `pairedRounds` rounds at this size.
   */
  variantsAt: number;
  variantPreferences: number;
  /** dkim: the product signing on DKIM_WORKERS threads (the default) and on the main thread, `pairedRounds` rounds. */
  dkimAt: number;
  pairedRounds: number;
  /** startup: timed starts per command (the table shows medians). */
  startupReps: number;
  /** intake: reports replayed into the bounce receiver. */
  intakeReports: number;
  /** day: readers of the day replayed in DELIVERY_MODE=local (bench/day.ts). */
  dayReaders: number;
}

export function plan(argv: string[]): Plan | { help: true } | { error: string } {
  let v: {
    quick?: boolean | undefined;
    full?: boolean | undefined;
    only?: string | undefined;
    pool?: string | undefined;
    help?: boolean | undefined;
  };
  try {
    v = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' },
        full: { type: 'boolean' },
        only: { type: 'string' },
        pool: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return { error: (err as Error).message };
  }
  if (v.help) return { help: true };
  if (v.quick && v.full) return { error: '--quick and --full do not go together' };
  const sections = v.only ? (v.only.split(',').map((s) => s.trim()) as Section[]) : SECTIONS;
  const unknown = sections.filter((s) => !SECTIONS.includes(s));
  if (unknown.length)
    return { error: `unknown section(s) for --only: ${unknown.join(', ')} (known: ${SECTIONS.join(', ')})` };
  const poolSize = v.pool === undefined ? 5 : Number(v.pool);
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 50)
    return { error: '--pool must be an integer from 1 to 50' };
  const mode = v.quick ? 'quick' : v.full ? 'full' : 'default';
  const common = { sections, poolSize, dayPapers: 30, variantPreferences: 200, startupReps: 5 };
  if (mode === 'quick') {
    return {
      mode,
      ...common,
      variantsAt: 1000,
      dkimAt: 1000,
      pairedRounds: 1,
      sendSizes: [1000],
      memorySizes: [1000, 10_000],
      repsAt: () => 1,
      compileRuns: 5,
      personaliseIterations: 2000,
      subscribeSeconds: 3,
      subscribeConnections: 10,
      subscribeReps: 1,
      ingestRuns: 3,
      intakeReports: 2000,
      dayReaders: 10_000,
    };
  }
  return {
    mode,
    ...common,
    variantsAt: 10_000,
    dkimAt: 10_000,
    pairedRounds: 3,
    sendSizes: mode === 'full' ? [1000, 10_000, 100_000] : [1000, 10_000],
    memorySizes: mode === 'full' ? [1000, 10_000, 100_000, 1_000_000] : [1000, 10_000, 100_000],
    // A shared box is noisy. The ratios between the product, the no-DB fast path and the
    // pipelined ceiling are taken per round, and single rounds swing widely: the median of five
    // up to 10k, of three at 100k (where a round is long). The nodemailer baselines only have to
    // show the product is several times faster, and they are slow: three runs at 1k, one from 10k.
    repsAt: (n, kind) => (kind.startsWith('nodemailer') ? (n <= 1000 ? 3 : 1) : n <= 10_000 ? 5 : 3),
    compileRuns: 12,
    personaliseIterations: 20_000,
    subscribeSeconds: 5,
    subscribeConnections: 10,
    // One long load per server swung the ratio widely on a shared box: three alternating short
    // loads per server, and the medians.
    subscribeReps: 3,
    ingestRuns: 7,
    intakeReports: 10_000,
    dayReaders: 100_000,
  };
}
