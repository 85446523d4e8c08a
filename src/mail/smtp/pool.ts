import type { ConnectionOptions } from 'node:tls';
import { parseSmtpUrl } from './url.ts';
import { joinedBytes, toSmtpData, type SmtpMessage, type SmtpSendResult } from './message.ts';
import { RateGate } from './rate-gate.ts';
import { smtpError, type SmtpError } from './replies.ts';
import { SmtpConnection, type Job, type Resolved } from './connection.ts';

/**
 * The pooled SMTP client for all mail, as bytes: the digests' pre-built messages and the
 * transactional mail the mailer composes. nodemailer spends much of its CPU per raw message on
 * stream plumbing and byte-by-byte dot-escaping; here a message's bytes (one Buffer, or its
 * segments) are written as they are, and with PIPELINING (RFC 2920) each message costs one
 * round trip: the content, its terminator and the next MAIL FROM / RCPT TO / DATA go out in one
 * write. The URL: see url.ts; errors: replies.ts.
 */

export interface SmtpClientOptions {
  url: string;
  /** Connections opened at most (SMTP_POOL_SIZE). */
  poolSize: number;
  /** Messages started per second across the pool (SEND_RATE_PER_SEC); 0 for no limit. */
  ratePerSec: number;
  connectionTimeoutMs?: number;
  greetingTimeoutMs?: number;
  /** Inactivity while a reply is awaited; an idle connection is closed after it too. */
  socketTimeoutMs?: number;
  /** Extra TLS options (e.g. a private CA); the URL's tls.rejectUnauthorized is applied on top. */
  tls?: ConnectionOptions;
}

export interface SmtpClient {
  /**
   * One message. Aborting `signal` gives up on it while it waits for a connection or while its
   * connection is still opening (it fails saying what the server had done by then); once the
   * session is open, the message goes out.
   */
  send(message: SmtpMessage, signal?: AbortSignal): Promise<SmtpSendResult>;
  /** Ends every connection with QUIT once its message in flight is answered; queued messages fail. */
  close(): Promise<void>;
}

const ENVELOPE_ADDRESS = /^[^\s<>\x00-\x1f\x7f]*$/;

export function createSmtpClient(options: SmtpClientOptions): SmtpClient {
  return new SmtpPool(options);
}

/** Queued messages handed to up to `poolSize` connections, each started as the rate limit lets it. */
class SmtpPool implements SmtpClient {
  private resolved: Resolved;
  private poolSize: number;
  private gate: RateGate;
  private queue: Job[] = [];
  private connections = new Set<SmtpConnection>();
  private idle: { conn: SmtpConnection; resolve(job: Job | null): void }[] = [];
  private running = new Set<Promise<void>>();
  /** Each connection still opening, by the job it was opened for. */
  private opening = new Map<Job, SmtpConnection>();
  private rateTimer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(options: SmtpClientOptions) {
    this.resolved = {
      target: parseSmtpUrl(options.url),
      connectionTimeoutMs: options.connectionTimeoutMs ?? 10_000,
      greetingTimeoutMs: options.greetingTimeoutMs ?? 10_000,
      socketTimeoutMs: options.socketTimeoutMs ?? 30_000,
      tls: options.tls ?? {},
    };
    this.poolSize = Math.max(1, options.poolSize);
    this.gate = new RateGate(options.ratePerSec);
  }

  send(message: SmtpMessage, signal?: AbortSignal): Promise<SmtpSendResult> {
    const refusal = this.refusal(message, signal);
    if (refusal) return Promise.reject(refusal);
    const data = dataOf(message);
    return new Promise<SmtpSendResult>((resolve, reject) => {
      const job = jobOf(message, data, resolve, reject);
      if (signal) this.giveUpOn(job, signal);
      this.queue.push(job);
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.rateTimer);
    for (const job of this.queue.splice(0))
      job.reject(smtpError('The SMTP client was closed before this message was sent', 'ECONNECTION', 'API'));
    for (const w of this.idle.splice(0)) w.resolve(null);
    await Promise.all(this.running);
  }

  /** Why a message is refused before it is queued, if it is. */
  private refusal(message: SmtpMessage, signal: AbortSignal | undefined): SmtpError | undefined {
    const { from, to } = message.envelope;
    if (!to.length) return smtpError('No recipients defined', 'EENVELOPE', 'API');
    const bad = [from, ...to].find((a) => !ENVELOPE_ADDRESS.test(a));
    if (bad !== undefined) return smtpError(`Invalid envelope address ${JSON.stringify(bad)}`, 'EENVELOPE', 'API');
    if (this.closing) return smtpError('The SMTP client is closed', 'ECONNECTION', 'API');
    if (signal?.aborted) return smtpError('Given up before it was sent', 'ECONNECTION', 'API');
    return undefined;
  }

  /** The next queued job if the rate limit lets one start now; otherwise pump() runs when it does. */
  private take(): Job | null {
    if (!this.queue.length) return null;
    const wait = this.gate.take();
    if (wait > 0) {
      this.rateTimer ??= setTimeout(() => {
        this.rateTimer = undefined;
        this.pump();
      }, wait);
      return null;
    }
    return this.queue.shift()!;
  }

  /** Hands queued jobs to idle connections, then opens connections up to the pool size. */
  private pump(): void {
    while (this.queue.length && !this.closing) {
      if (!this.idle.length && this.connections.size >= this.poolSize) return;
      const job = this.take();
      if (!job) return;
      const waiting = this.idle.shift();
      if (waiting) waiting.resolve(job);
      else this.spawn(job);
    }
  }

  private nextJob(conn: SmtpConnection): Promise<Job | null> {
    if (this.closing || conn.broken) return Promise.resolve(null);
    const job = this.take();
    if (job) return Promise.resolve(job);
    return new Promise((resolve) => this.idle.push({ conn, resolve }));
  }

  private spawn(first: Job): void {
    const conn = new SmtpConnection(this.resolved);
    this.connections.add(conn);
    conn.onBroken = () => {
      // An idle connection the server closed (or timed out): it just leaves the pool.
      const i = this.idle.findIndex((w) => w.conn === conn);
      if (i !== -1) this.idle.splice(i, 1)[0]!.resolve(null);
    };
    const run = this.drive(conn, first).finally(() => {
      this.connections.delete(conn);
      this.running.delete(run);
      this.pump();
    });
    this.running.add(run);
  }

  /** A job the connection could not finish: moved once to another connection if none of it was sent, else failed. */
  private giveBack(job: Job, err: SmtpError): void {
    if (job.contentSent || job.moved || this.closing) return job.reject(err);
    job.moved = true;
    this.queue.unshift(job);
  }

  /** Gives up on `job` when `signal` aborts while it waits for a connection or its connection opens. */
  private giveUpOn(job: Job, signal: AbortSignal): void {
    const onAbort = () => {
      const i = this.queue.indexOf(job);
      if (i === -1) return this.opening.get(job)?.abandonOpening();
      this.queue.splice(i, 1);
      job.reject(smtpError('Given up while waiting for a connection', 'ECONNECTION', 'API'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const { resolve, reject } = job;
    job.resolve = (r) => (signal.removeEventListener('abort', onAbort), resolve(r));
    job.reject = (e) => (signal.removeEventListener('abort', onAbort), reject(e));
  }

  /** Opens a connection for `first`, then sends through it until no job is left for it. */
  private async drive(conn: SmtpConnection, first: Job): Promise<void> {
    if (!(await this.open(conn, first))) return;
    let job: Job | null = first;
    let envelopeWritten = false;
    try {
      while (job) {
        const outcome = await conn.transact(job, envelopeWritten, () => this.take());
        const done = job;
        job = conn.pipelined;
        conn.pipelined = null;
        envelopeWritten = job !== null;
        if (outcome.ok) done.resolve(outcome.result);
        else done.reject(outcome.error);
        if (job) continue;
        if (!outcome.ok && outcome.reset) await conn.reset();
        job = await this.nextJob(conn);
      }
      await conn.quit();
    } catch (err) {
      conn.destroy();
      const error = err as SmtpError;
      if (job) this.giveBack(job, error);
      if (conn.pipelined && conn.pipelined !== job) this.giveBack(conn.pipelined, error);
    }
  }

  /** Opens the connection made for `first`; false (and `first` failed) when it does not open. */
  private async open(conn: SmtpConnection, first: Job): Promise<boolean> {
    this.opening.set(first, conn);
    try {
      await conn.open();
      return true;
    } catch (err) {
      conn.destroy();
      // Each message gets its own connection attempt: an unreachable server fails the messages
      // one by one (the sender's retry policy decides what then), it does not loop here.
      first.reject(err as SmtpError);
      return false;
    } finally {
      this.opening.delete(first);
    }
  }
}

/** A message's bytes, ready for DATA. */
function dataOf(message: SmtpMessage): Job['data'] {
  const raw = message.raw;
  return message.smtpReady ? (Buffer.isBuffer(raw) ? [raw] : raw) : [toSmtpData(joinedBytes(raw))];
}

/** A message as the connections send it, its RCPT TO commands written once. */
function jobOf(message: SmtpMessage, data: Job['data'], resolve: Job['resolve'], reject: Job['reject']): Job {
  const { from, to } = message.envelope;
  let size = 0;
  for (const d of data) size += d.length;
  return {
    envelope: { from, to: [...to] },
    data,
    size,
    rcptCommands: to.map((a) => `RCPT TO:<${a}>\r\n`).join(''),
    resolve,
    reject,
    contentSent: false,
    moved: false,
  };
}
