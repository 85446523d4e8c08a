import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import type { Handlers } from './ipc.ts';
import { cpuSince, rssMb, sampleRss, vmHwmMb, type RssTrace } from './memory.ts';
import { openPipelinedClient, toSmtpData, type PipelinedClient } from './raw-smtp-client.ts';
import { BENCH_FROM, BENCH_FROM_ADDRESS, BENCH_PUBLIC_URL, recipientFor } from './fixtures.ts';
import { productSender, type ProductKind, type ProductParams } from './product-send.ts';
import { sendWindowed, type Sender } from './sender.ts';

/**
 * One sender per process: a baseline or the product path. The parent calls `prepare` (build the
 * sender, open and warm its pooled connections), resets the sink, then calls `run` (the timed part).
 */

export interface DigestContent {
  subject: string;
  html: string;
  text: string;
}

export type SenderParams =
  | { kind: 'nodemailer'; port: number; poolSize: number; n: number; content: DigestContent }
  | { kind: 'nodemailer-raw'; port: number; poolSize: number; n: number; raw: Uint8Array }
  | { kind: 'pipelined-raw'; port: number; poolSize: number; n: number; raw: Uint8Array }
  | ({ kind: ProductKind; port: number; poolSize: number; n: number } & ProductParams);

export interface SendMeasurement {
  kind: SenderParams['kind'];
  n: number;
  /** Messages the sender believes it delivered (the sink's count is checked separately). */
  sent: number;
  elapsedMs: number;
  cpuMs: number;
  /** RSS after prepare (modules loaded, pool open), the sampled peak during run, and VmHWM at the end. */
  rssBeforeMb: number;
  rssPeakSampledMb: number;
  vmHwmMb: number | null;
  rssTrace: RssTrace;
  /** Product paths: from the start of the run to the first message handed to the mailer. */
  firstMessageMs?: number;
  /** Anything the sender wants to report (e.g. the product's own summary). */
  detail?: unknown;
}

/**
 * nodemailer's pool as the mailer configured it when it sent with nodemailer: pool size, the
 * mailer's timeouts, and 10,000 messages per connection (reconnecting every 100, nodemailer's
 * default, stalls the pool each time).
 */
function baselineTransport(port: number, poolSize: number) {
  return nodemailer.createTransport({
    url: `smtp://127.0.0.1:${port}`,
    pool: true,
    maxConnections: poolSize,
    maxMessages: 10_000,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  } as Parameters<typeof nodemailer.createTransport>[0]);
}

/** Fills every connection of a nodemailer pool once (see warmPool). */
async function warmTransport(transport: ReturnType<typeof baselineTransport>, poolSize: number): Promise<void> {
  await Promise.all(
    Array.from({ length: poolSize }, (_, i) =>
      transport.sendMail({ from: BENCH_FROM, to: `warmup${i}@bench.localhost`, subject: 'warm-up', text: 'warm-up' }),
    ),
  );
}

/** The RFC 8058 headers every digest carries, for the plain nodemailer loop too. */
export function listHeaders(i: number): Pick<Mail.Options, 'list' | 'headers'> {
  const unsubscribe = `${BENCH_PUBLIC_URL}/unsubscribe/${i + 1}.bench`;
  return {
    list: {
      unsubscribe: { url: unsubscribe, comment: 'Unsubscribe' },
      id: { url: 'digest.papers.example.org', comment: 'Paperboy daily digest' },
    },
    headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
  };
}

/** Baseline (a): a plain loop of pooled sendMail() with the same pre-rendered HTML and text. */
function nodemailerLoop(p: Extract<SenderParams, { kind: 'nodemailer' }>): Sender {
  const transport = baselineTransport(p.port, p.poolSize);
  return {
    prepare: () => warmTransport(transport, p.poolSize),
    async run() {
      const sent = await sendWindowed(p.n, p.poolSize * 2, (i) =>
        transport.sendMail({
          from: BENCH_FROM,
          to: recipientFor(i),
          subject: p.content.subject,
          html: p.content.html,
          text: p.content.text,
          ...listHeaders(i),
        }),
      );
      return { sent };
    },
    close: () => transport.close(),
  };
}

/**
 * Ceiling, variant 1: nodemailer's pool replaying one pre-built message (`raw`), only the envelope
 * changes. nodemailer itself, configured as the mailer configures it: the mailer now sends
 * pre-built messages through its own client.
 */
function nodemailerRaw(p: Extract<SenderParams, { kind: 'nodemailer-raw' }>): Sender {
  const transport = baselineTransport(p.port, p.poolSize);
  const raw = Buffer.from(p.raw);
  return {
    prepare: () => warmTransport(transport, p.poolSize),
    async run() {
      const sent = await sendWindowed(p.n, p.poolSize * 2, (i) =>
        transport.sendMail({ envelope: { from: BENCH_FROM_ADDRESS, to: [recipientFor(i)] }, raw }),
      );
      return { sent };
    },
    close: () => transport.close(),
  };
}

/** Ceiling, variant 2: a minimal pipelined SMTP client, same number of connections. */
function pipelinedRaw(p: Extract<SenderParams, { kind: 'pipelined-raw' }>): Sender {
  const data = toSmtpData(Buffer.from(p.raw));
  let client: PipelinedClient | null = null;
  return {
    async prepare() {
      client = await openPipelinedClient({ port: p.port, connections: p.poolSize, from: BENCH_FROM_ADDRESS });
    },
    async run() {
      return { sent: await client!.send(p.n, recipientFor, data) };
    },
    close: () => client?.close(),
  };
}

/** The exact bytes nodemailer would put on the wire for this message (CRLF, encoded parts). */
export async function buildRawMessage(content: DigestContent, i = 0): Promise<Buffer> {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await t.sendMail({
    from: BENCH_FROM,
    to: recipientFor(i),
    subject: content.subject,
    html: content.html,
    text: content.text,
    ...listHeaders(i),
  });
  t.close();
  return info.message as Buffer;
}

export function senderHandlers(): Handlers {
  let sender: Sender | null = null;
  let params: SenderParams | null = null;
  let rssBefore = 0;
  return {
    async prepare(p: SenderParams) {
      params = p;
      sender =
        p.kind === 'nodemailer'
          ? nodemailerLoop(p)
          : p.kind === 'nodemailer-raw'
            ? nodemailerRaw(p)
            : p.kind === 'pipelined-raw'
              ? pipelinedRaw(p)
              : await productSender(p, p.kind === 'fastpath-nodb');
      await sender.prepare();
      rssBefore = rssMb();
      return { rssMb: rssBefore };
    },
    async run(): Promise<SendMeasurement> {
      if (!sender || !params) throw new Error('prepare first');
      const sampler = sampleRss();
      const cpu = process.cpuUsage();
      const started = performance.now();
      const { sent, firstMessageMs, detail } = await sender.run();
      const elapsedMs = performance.now() - started;
      const cpuMs = cpuSince(cpu);
      const trace = sampler.stop();
      return {
        kind: params.kind,
        n: params.n,
        sent,
        elapsedMs,
        cpuMs,
        rssBeforeMb: rssBefore,
        rssPeakSampledMb: trace.peakMb,
        vmHwmMb: vmHwmMb(),
        rssTrace: trace,
        ...(firstMessageMs === undefined ? {} : { firstMessageMs }),
        detail,
      };
    },
    async close() {
      await sender?.close();
      sender = null;
    },
  };
}
