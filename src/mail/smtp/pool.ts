import type { ConnectionOptions } from 'node:tls';
import { parseSmtpUrl } from './url.ts';
import { joinedBytes, toSmtpData, type SmtpMessage, type SmtpSendResult } from './message.ts';
import { RateGate } from './rate-gate.ts';
import { smtpError, type SmtpError } from './replies.ts';
import { SmtpConnection, type Job, type Resolved } from './connection.ts';

/**
 * A pooled SMTP client for messages that are already built (the digests' raw bytes). nodemailer
 * spends much of its CPU per raw message on stream plumbing and byte-by-byte dot-escaping;
 * here a message's bytes (one Buffer, or its segments) are written as they are, and with
 * PIPELINING (RFC 2920) each message costs one round trip: the content, its terminator and the
 * next MAIL FROM / RCPT TO / DATA go out in one write. The URL: see url.ts; errors: replies.ts.
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
  const target = parseSmtpUrl(options.url);
  const resolved: Resolved = {
    target,
    connectionTimeoutMs: options.connectionTimeoutMs ?? 10_000,
    greetingTimeoutMs: options.greetingTimeoutMs ?? 10_000,
    socketTimeoutMs: options.socketTimeoutMs ?? 30_000,
    tls: options.tls ?? {},
  };
  const poolSize = Math.max(1, options.poolSize);
  const gate = new RateGate(options.ratePerSec);
  const queue: Job[] = [];
  const connections = new Set<SmtpConnection>();
  const idle: { conn: SmtpConnection; resolve(job: Job | null): void }[] = [];
  const running = new Set<Promise<void>>();
  /** Each connection still opening, by the job it was opened for. */
  const opening = new Map<Job, SmtpConnection>();
  let rateTimer: NodeJS.Timeout | undefined;
  let closing = false;

  /** The next queued job if the rate limit lets one start now; otherwise pump() runs when it does. */
  const take = (): Job | null => {
    if (!queue.length) return null;
    const wait = gate.take();
    if (wait > 0) {
      rateTimer ??= setTimeout(() => {
        rateTimer = undefined;
        pump();
      }, wait);
      return null;
    }
    return queue.shift()!;
  };

  /** Hands queued jobs to idle connections, then opens connections up to the pool size. */
  const pump = () => {
    while (queue.length && !closing) {
      if (!idle.length && connections.size >= poolSize) return;
      const job = take();
      if (!job) return;
      const waiting = idle.shift();
      if (waiting) waiting.resolve(job);
      else spawn(job);
    }
  };

  const nextJob = (conn: SmtpConnection): Promise<Job | null> => {
    if (closing || conn.broken) return Promise.resolve(null);
    const job = take();
    if (job) return Promise.resolve(job);
    return new Promise((resolve) => idle.push({ conn, resolve }));
  };

  const spawn = (first: Job) => {
    const conn = new SmtpConnection(resolved);
    connections.add(conn);
    conn.onBroken = () => {
      // An idle connection the server closed (or timed out): it just leaves the pool.
      const i = idle.findIndex((w) => w.conn === conn);
      if (i !== -1) idle.splice(i, 1)[0]!.resolve(null);
    };
    const run = drive(conn, first).finally(() => {
      connections.delete(conn);
      running.delete(run);
      pump();
    });
    running.add(run);
  };

  /** A job the connection could not finish: moved once to another connection if none of it was sent, else failed. */
  const giveBack = (job: Job, err: SmtpError) => {
    if (job.contentSent || job.moved || closing) return job.reject(err);
    job.moved = true;
    queue.unshift(job);
  };

  /** Gives up on `job` when `signal` aborts while it waits for a connection or its connection opens. */
  const giveUpOn = (job: Job, signal: AbortSignal) => {
    const onAbort = () => {
      const i = queue.indexOf(job);
      if (i === -1) return opening.get(job)?.abandonOpening();
      queue.splice(i, 1);
      job.reject(smtpError('Given up while waiting for a connection', 'ECONNECTION', 'API'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const { resolve, reject } = job;
    job.resolve = (r) => (signal.removeEventListener('abort', onAbort), resolve(r));
    job.reject = (e) => (signal.removeEventListener('abort', onAbort), reject(e));
  };

  async function drive(conn: SmtpConnection, first: Job): Promise<void> {
    opening.set(first, conn);
    try {
      await conn.open();
    } catch (err) {
      conn.destroy();
      // Each message gets its own connection attempt: an unreachable server fails the messages
      // one by one (the sender's retry policy decides what then), it does not loop here.
      first.reject(err as SmtpError);
      return;
    } finally {
      opening.delete(first);
    }
    let job: Job | null = first;
    let envelopeWritten = false;
    try {
      while (job) {
        const outcome = await conn.transact(job, envelopeWritten, take);
        const done = job;
        job = conn.pipelined;
        conn.pipelined = null;
        envelopeWritten = job !== null;
        if (outcome.ok) done.resolve(outcome.result);
        else done.reject(outcome.error);
        if (job) continue;
        if (!outcome.ok && outcome.reset) await conn.reset();
        job = await nextJob(conn);
      }
      await conn.quit();
    } catch (err) {
      conn.destroy();
      const error = err as SmtpError;
      if (job) giveBack(job, error);
      if (conn.pipelined && conn.pipelined !== job) giveBack(conn.pipelined, error);
    }
  }

  return {
    send(message, signal) {
      const { from, to } = message.envelope;
      if (!to.length) return Promise.reject(smtpError('No recipients defined', 'EENVELOPE', 'API'));
      const bad = [from, ...to].find((a) => !ENVELOPE_ADDRESS.test(a));
      if (bad !== undefined)
        return Promise.reject(smtpError(`Invalid envelope address ${JSON.stringify(bad)}`, 'EENVELOPE', 'API'));
      if (closing) return Promise.reject(smtpError('The SMTP client is closed', 'ECONNECTION', 'API'));
      if (signal?.aborted) return Promise.reject(smtpError('Given up before it was sent', 'ECONNECTION', 'API'));
      const raw = message.raw;
      const data = message.smtpReady ? (Buffer.isBuffer(raw) ? [raw] : raw) : [toSmtpData(joinedBytes(raw))];
      let size = 0;
      for (const d of data) size += d.length;
      return new Promise<SmtpSendResult>((resolve, reject) => {
        const job: Job = {
          envelope: { from, to: [...to] },
          data,
          size,
          rcptCommands: to.map((a) => `RCPT TO:<${a}>\r\n`).join(''),
          resolve,
          reject,
          contentSent: false,
          moved: false,
        };
        if (signal) giveUpOn(job, signal);
        queue.push(job);
        pump();
      });
    },
    async close() {
      closing = true;
      clearTimeout(rateTimer);
      for (const job of queue.splice(0))
        job.reject(smtpError('The SMTP client was closed before this message was sent', 'ECONNECTION', 'API'));
      for (const w of idle.splice(0)) w.resolve(null);
      await Promise.all(running);
    },
  };
}
