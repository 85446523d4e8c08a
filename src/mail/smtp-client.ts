import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { hostname } from 'node:os';
import { isPermanentReply } from '../domain/send-policy.ts';

/**
 * A pooled SMTP client for messages that are already built (the digests' raw bytes). nodemailer
 * spends ~0.7–1.6 ms of CPU per raw message on stream plumbing and byte-by-byte dot-escaping;
 * here a message's bytes (one Buffer, or its segments) are written as they are, and with
 * PIPELINING (RFC 2920) each message costs one round trip: the content, its terminator and the
 * next MAIL FROM / RCPT TO / DATA go out in one write.
 *
 * The URL: `smtp://[user:password@]host[:port][?options]` (STARTTLS when the server offers it,
 * port 587 by default) or `smtps://…` (implicit TLS, port 465). User and password are
 * URL-decoded and sent with AUTH PLAIN, or LOGIN when the server offers only that. Options,
 * named as nodemailer names them so one SMTP_URL serves both transports (others are ignored):
 *   name=host.example.org        the EHLO name (default: the host name when it is a FQDN,
 *                                otherwise the connection's local address literal)
 *   requireTLS=true              fail unless STARTTLS succeeds (never send in clear)
 *   ignoreTLS=true               never use STARTTLS, even when offered
 *   tls.rejectUnauthorized=false accept a certificate that does not verify (self-signed)
 *
 * Errors carry nodemailer's shape, which send-policy.ts classifies: `code` (ECONNECTION,
 * ETIMEDOUT, ETLS, EAUTH, EPROTOCOL for the connection; EENVELOPE, EMESSAGE for one message),
 * and for a reply to a message's command `response`, `responseCode`, `command` and `permanent`
 * (5yz except 503). A reply that refuses the session itself (greeting, EHLO) is reported as a
 * connection error without a responseCode: it is about the server, not any recipient.
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

export interface SmtpMessage {
  envelope: { from: string; to: string[] };
  /** The message; as segments, they are written one after the other without being joined. */
  raw: Buffer | readonly Buffer[];
  /**
   * The bytes are DATA-ready as they are: CRLF line breaks only, and no line starts with "."
   * (RFC 5321 §4.5.2 transparency needs nothing), and the last line ends with CRLF.
   * raw-message.ts knows this once per digest variant; without it the client checks and
   * converts the message itself.
   */
  smtpReady?: boolean;
}

export interface SmtpSendResult {
  /** The server's reply to the end of data ("250 2.0.0 Ok: queued as …"). */
  response: string;
  accepted: string[];
  rejected: string[];
}

export interface SmtpError extends Error {
  code: string;
  response?: string;
  responseCode?: number;
  command?: string;
  permanent?: boolean;
  /** The socket's own code (ECONNREFUSED, ECONNRESET, …) when `code` is ECONNECTION. */
  originalCode?: string;
  rejected?: string[];
}

export interface SmtpClient {
  send(message: SmtpMessage): Promise<SmtpSendResult>;
  /** Ends every connection with QUIT once its message in flight is answered; queued messages fail. */
  close(): Promise<void>;
}

// ---- the URL ----

export interface SmtpTarget {
  host: string;
  port: number;
  secure: boolean;
  auth: { user: string; pass: string } | null;
  name: string | null;
  requireTLS: boolean;
  ignoreTLS: boolean;
  rejectUnauthorized: boolean | null;
}

export function parseSmtpUrl(url: string): SmtpTarget {
  const u = new URL(url);
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') throw new Error(`not an smtp:// or smtps:// URL: ${u.protocol}`);
  const secure = u.protocol === 'smtps:';
  const flag = (key: string) => u.searchParams.get(key) === 'true';
  const reject = u.searchParams.get('tls.rejectUnauthorized');
  const user = decodeURIComponent(u.username);
  return {
    // new URL keeps an IPv6 host in brackets; sockets want it bare.
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    auth: user ? { user, pass: decodeURIComponent(u.password) } : null,
    name: u.searchParams.get('name'),
    requireTLS: flag('requireTLS'),
    ignoreTLS: flag('ignoreTLS'),
    rejectUnauthorized: reject === null ? null : reject !== 'false',
  };
}

// ---- message bytes ----

/** A message's bytes as one Buffer (segments joined). */
export const joinedBytes = (raw: SmtpMessage['raw']): Buffer => (Buffer.isBuffer(raw) ? raw : Buffer.concat(raw));

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF_DOT = Buffer.from('\r\n.', 'latin1');
const CRLF_BUF = Buffer.from('\r\n', 'latin1');
const DOT_BUF = Buffer.from('.', 'latin1');

/**
 * A message as DATA content (RFC 5321 §4.5.2): every line break CRLF, a "." doubled at the start
 * of a line, ending in CRLF; the "." terminator line is not included. Native Buffer.indexOf scans
 * find whether anything needs doing (usually nothing); the message is copied only then.
 */
export function toSmtpData(raw: Buffer): Buffer {
  const clean = raw[0] !== DOT && raw.indexOf(CRLF_DOT) === -1 && !hasBareLf(raw);
  if (clean) return raw.length === 0 || endsWithCrlf(raw) ? raw : Buffer.concat([raw, CRLF_BUF]);
  const out: Buffer[] = [];
  let start = 0;
  while (start < raw.length) {
    let nl = raw.indexOf(LF, start);
    const last = nl === -1;
    if (last) nl = raw.length;
    const end = nl > start && raw[nl - 1] === CR ? nl - 1 : nl;
    if (raw[start] === DOT) out.push(DOT_BUF);
    out.push(raw.subarray(start, end), CRLF_BUF);
    start = nl + 1;
  }
  return Buffer.concat(out);
}

function hasBareLf(b: Buffer): boolean {
  for (let i = b.indexOf(LF); i !== -1; i = b.indexOf(LF, i + 1)) if (i === 0 || b[i - 1] !== CR) return true;
  return false;
}

const endsWithCrlf = (b: Buffer) => b.length >= 2 && b[b.length - 2] === CR && b[b.length - 1] === LF;

// ---- the rate limit ----

/**
 * At most `perSecond` message starts in any window of one second (a quota such as "14/s" is
 * met at every instant, bursts included). For a fractional rate the window stretches: 0.5/s
 * is one start per two seconds.
 */
export class RateGate {
  private readonly starts: Float64Array;
  private readonly spanMs: number;
  private next = 0;
  private count = 0;

  constructor(
    perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    const slots = perSecond > 0 ? Math.max(1, Math.floor(perSecond)) : 0;
    this.starts = new Float64Array(slots);
    this.spanMs = slots ? (1000 * slots) / perSecond : 0;
  }

  /** 0 when a message may start now (and counts it), otherwise the ms to wait. */
  take(): number {
    if (!this.starts.length) return 0;
    const t = this.now();
    if (this.count === this.starts.length) {
      const wait = this.starts[this.next]! + this.spanMs - t;
      if (wait > 0) return Math.ceil(wait);
    } else this.count++;
    this.starts[this.next] = t;
    this.next = (this.next + 1) % this.starts.length;
    return 0;
  }
}

// ---- errors ----

interface Reply {
  code: number;
  /** All lines of the reply, joined with "\n". */
  text: string;
}

function smtpError(message: string, code: string, command?: string, reply?: Reply): SmtpError {
  const err = new Error(reply ? `${message}: ${reply.text}` : message) as SmtpError;
  err.code = code;
  if (command) err.command = command;
  if (reply) {
    err.response = reply.text;
    err.responseCode = reply.code;
    err.permanent = isPermanentReply(reply.code);
  }
  return err;
}

/**
 * The server refused the session itself (greeting, EHLO, an unsolicited reply): a connection
 * problem, with the server's words but no responseCode, so it is never taken for a verdict on
 * a recipient.
 */
function sessionError(message: string, code: string, command: string, reply: Reply): SmtpError {
  return Object.assign(new Error(`${message}: ${reply.text}`), { code, command, response: reply.text }) as SmtpError;
}

/** A socket error as a connection error, keeping the socket's own code and message. */
function connectionError(err: Error & { code?: string }, code = 'ECONNECTION'): SmtpError {
  const e = err as SmtpError;
  if (e.code && e.code !== code) e.originalCode = e.code;
  e.code = code;
  e.command ??= 'CONN';
  return e;
}

const isOk = (r: Reply) => r.code >= 200 && r.code < 300;

// ---- one connection ----

const MAX_REPLY_CHARS = 64 * 1024;

interface Resolved {
  target: SmtpTarget;
  connectionTimeoutMs: number;
  greetingTimeoutMs: number;
  socketTimeoutMs: number;
  tls: ConnectionOptions;
}

interface Job {
  envelope: SmtpMessage['envelope'];
  /** DATA content, CRLF-terminated, dot-stuffed, without the terminator line. */
  data: readonly Buffer[];
  size: number;
  /** "RCPT TO:<…>" CRLF per recipient, built once. */
  rcptCommands: string;
  resolve(r: SmtpSendResult): void;
  reject(e: SmtpError): void;
  /** Some of its content reached the socket: a failure now may or may not have delivered it. */
  contentSent: boolean;
  /** Moved to a new connection once already (its first one died before its content went out). */
  moved: boolean;
}

type Outcome = { ok: true; result: SmtpSendResult } | { ok: false; error: SmtpError; reset: boolean };

class SmtpConnection {
  private socket!: Socket;
  private buf = '';
  private lines: string[] = [];
  private replies: Reply[] = [];
  private waiter: { resolve(r: Reply): void; reject(e: Error): void } | null = null;
  private failure: SmtpError | null = null;
  /** Rejects when the connection fails: the steps of open() wait on socket events as well as replies. */
  private readonly failed: Promise<never>;
  private rejectFailed!: (e: SmtpError) => void;
  /** Replies owed by the server (the greeting first); one arriving when none is owed is unsolicited. */
  private owed = 1;
  /** Socket errors during a TLS handshake are ETLS unless the network itself failed. */
  private handshaking = false;
  private quitting = false;
  private extensions = new Map<string, string>();
  pipelining = false;
  private maxSize = 0;
  /** The job whose envelope went out behind the current message's content. */
  pipelined: Job | null = null;
  /** Called once when the connection breaks (error, timeout, server closing) while not quitting. */
  onBroken: (() => void) | null = null;

  constructor(private readonly o: Resolved) {
    this.failed = new Promise<never>((_, reject) => {
      this.rejectFailed = reject;
    });
    this.failed.catch(() => undefined);
  }

  get broken(): boolean {
    return this.failure !== null;
  }

  // -- opening: connect, greeting, EHLO, STARTTLS, AUTH --

  async open(): Promise<void> {
    const { target: t } = this.o;
    const tlsOptions = this.tlsOptions();
    const socket = t.secure ? tlsConnect({ host: t.host, port: t.port, ...tlsOptions }) : netConnect({ host: t.host, port: t.port });
    this.attach(socket);
    this.handshaking = t.secure;
    await this.within(this.o.connectionTimeoutMs, 'Connection timeout', () => this.event(socket, t.secure ? 'secureConnect' : 'connect'));
    this.handshaking = false;
    socket.setNoDelay(true);
    const greeting = await this.within(this.o.greetingTimeoutMs, 'Greeting never received', () => this.expect());
    if (greeting.code !== 220) throw sessionError('The server refused the session', 'ECONNECTION', 'CONN', greeting);
    socket.setTimeout(this.o.socketTimeoutMs);

    await this.ehlo();
    if (!t.secure && !t.ignoreTLS && this.extensions.has('STARTTLS')) {
      const reply = await this.command('STARTTLS');
      if (reply.code !== 220) throw smtpError('STARTTLS failed', 'ETLS', 'STARTTLS', reply);
      await this.upgrade(tlsOptions);
      await this.ehlo();
    } else if (!t.secure && t.requireTLS) {
      throw smtpError('The server does not offer STARTTLS and the URL says requireTLS', 'ETLS', 'STARTTLS');
    }
    if (t.auth) await this.authenticate(t.auth);
    this.pipelining = this.extensions.has('PIPELINING');
    this.maxSize = Number(this.extensions.get('SIZE')) || 0;
  }

  private tlsOptions(): ConnectionOptions {
    const { target: t } = this.o;
    return {
      ...this.o.tls,
      // SNI takes a host name, never an address.
      ...(isIP(t.host) ? {} : { servername: t.host }),
      ...(t.rejectUnauthorized === null ? {} : { rejectUnauthorized: t.rejectUnauthorized }),
    };
  }

  private async ehlo(): Promise<void> {
    const name = this.o.target.name ?? ehloName(this.socket);
    let reply = await this.command(`EHLO ${name}`);
    if (!isOk(reply)) {
      // A server from before RFC 1869: plain HELO, no extensions.
      reply = await this.command(`HELO ${name}`);
      if (!isOk(reply)) throw sessionError('The server refused EHLO and HELO', 'ECONNECTION', 'EHLO', reply);
      this.extensions = new Map();
      return;
    }
    this.extensions = new Map(
      reply.text
        .split('\n')
        .slice(1)
        .map((line) => {
          const [keyword = '', ...params] = line.slice(4).trim().split(/\s+/);
          return [keyword.toUpperCase(), params.join(' ')] as const;
        }),
    );
  }

  private async authenticate(auth: { user: string; pass: string }): Promise<void> {
    const offered = (this.extensions.get('AUTH') ?? '').toUpperCase().split(' ');
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    let reply: Reply;
    if (offered.includes('PLAIN')) {
      reply = await this.command(`AUTH PLAIN ${b64(`\0${auth.user}\0${auth.pass}`)}`);
    } else if (offered.includes('LOGIN')) {
      reply = await this.command('AUTH LOGIN');
      if (reply.code === 334) reply = await this.command(b64(auth.user));
      if (reply.code === 334) reply = await this.command(b64(auth.pass));
    } else {
      throw smtpError(`The server offers no AUTH PLAIN or LOGIN (offered: ${offered.join(' ') || 'none'})`, 'EAUTH', 'AUTH');
    }
    if (reply.code !== 235) throw smtpError('Invalid login', 'EAUTH', `AUTH ${offered.includes('PLAIN') ? 'PLAIN' : 'LOGIN'}`, reply);
  }

  private async upgrade(tlsOptions: ConnectionOptions): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('timeout');
    plain.setTimeout(0);
    const secure = tlsConnect({ socket: plain, ...tlsOptions });
    this.attach(secure);
    this.handshaking = true;
    await this.within(this.o.connectionTimeoutMs, 'TLS handshake timeout', () => this.event(secure, 'secureConnect'));
    this.handshaking = false;
    secure.setTimeout(this.o.socketTimeoutMs);
  }

  // -- socket and replies --

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.read(chunk));
    socket.on('error', (err: Error & { syscall?: string }) => this.fail(connectionError(err, this.handshaking && !err.syscall ? 'ETLS' : 'ECONNECTION')));
    socket.on('close', () => this.fail(smtpError('Connection closed unexpectedly', 'ECONNECTION', 'CONN')));
    socket.on('timeout', () => this.fail(smtpError('Timeout: no reply from the server', 'ETIMEDOUT', 'CONN')));
  }

  /** Resolves on `name` (a failure on the way rejects through `within`). */
  private event(socket: Socket, name: string): Promise<void> {
    return new Promise<void>((resolve) => socket.once(name, () => resolve()));
  }

  private async within<T>(ms: number, message: string, step: () => Promise<T>): Promise<T> {
    const timer = setTimeout(() => this.fail(smtpError(message, 'ETIMEDOUT', 'CONN')), ms);
    try {
      return await Promise.race([step(), this.failed]);
    } finally {
      clearTimeout(timer);
    }
  }

  private read(chunk: string): void {
    this.buf += chunk;
    let start = 0;
    for (let nl = this.buf.indexOf('\n'); nl !== -1; nl = this.buf.indexOf('\n', start)) {
      const line = this.buf.slice(start, this.buf[nl - 1] === '\r' ? nl - 1 : nl);
      start = nl + 1;
      this.lines.push(line);
      // "250-…" continues a reply; "250 …" (or a bare "250") ends it.
      if (line.length > 3 && line[3] === '-') continue;
      const code = Number(line.slice(0, 3));
      const text = this.lines.join('\n');
      this.lines = [];
      if (!/^[2-5]\d\d$/.test(line.slice(0, 3))) return this.fail(smtpError(`Invalid reply from the server: ${JSON.stringify(text.slice(0, 200))}`, 'EPROTOCOL', 'CONN'));
      // A reply nothing asked for (typically "421 … closing" on an idle connection): this
      // conversation is over, and taking it as the answer to a later command would be wrong.
      if (this.owed === 0) return this.fail(sessionError('Unexpected reply from the server', 'EPROTOCOL', 'CONN', { code, text }));
      this.owed--;
      const reply = { code, text };
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(reply);
      } else this.replies.push(reply);
    }
    this.buf = this.buf.slice(start);
    if (this.buf.length > MAX_REPLY_CHARS) this.fail(smtpError('Reply line too long', 'EPROTOCOL', 'CONN'));
  }

  private fail(err: SmtpError): void {
    if (this.failure) return;
    this.failure = err;
    this.socket.destroy();
    const w = this.waiter;
    this.waiter = null;
    w?.reject(err);
    this.rejectFailed(err);
    if (!this.quitting) this.onBroken?.();
  }

  /** The next reply, in order. */
  private expect(): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Writes commands (CRLF-terminated) and content, owing `replies` replies for them. */
  private write(chunks: readonly (Buffer | string)[], replies: number): void {
    if (this.failure) throw this.failure;
    this.owed += replies;
    if (chunks.length === 1) this.socket.write(chunks[0]!);
    else {
      // One writev: the content, its terminator and the next envelope leave in one segment train.
      this.socket.cork();
      for (const c of chunks) this.socket.write(c);
      this.socket.uncork();
    }
  }

  private command(line: string): Promise<Reply> {
    this.write([`${line}\r\n`], 1);
    return this.expect();
  }

  // -- messages --

  /** Why this connection cannot take the message, checked before anything is written. */
  refuses(job: Job): SmtpError | null {
    if (this.maxSize && job.size > this.maxSize) {
      return smtpError(`Message size ${job.size} exceeds the server's limit of ${this.maxSize}`, 'EMESSAGE', 'MAIL FROM');
    }
    return null;
  }

  private mailCommand(job: Job): string {
    // RFC 1870: declaring the size lets the server refuse a message before it is sent.
    return `MAIL FROM:<${job.envelope.from}>${this.extensions.has('SIZE') ? ` SIZE=${job.size}` : ''}`;
  }

  /** MAIL FROM, RCPT TO for each recipient, DATA: one pipelined group. */
  private envelopeCommands(job: Job): string {
    return `${this.mailCommand(job)}\r\n${job.rcptCommands}DATA\r\n`;
  }

  /**
   * One message. With PIPELINING its envelope went out already when it was pipelined behind
   * the previous message; here the replies are read and the content written, with the next
   * job's envelope (from `takeNext`) right behind it. Returns the outcome; a connection
   * failure throws (the caller decides about the job and the pipelined one).
   */
  async transact(job: Job, envelopeWritten: boolean, takeNext: () => Job | null): Promise<Outcome> {
    const refused = envelopeWritten ? null : this.refuses(job);
    if (refused) return { ok: false, error: refused, reset: false };
    const rcpts = job.envelope.to.length;
    let mail: Reply;
    const replies: Reply[] = [];
    let data: Reply | null;
    if (this.pipelining) {
      if (!envelopeWritten) this.write([this.envelopeCommands(job)], rcpts + 2);
      mail = await this.expect();
      for (let i = 0; i < rcpts; i++) replies.push(await this.expect());
      data = await this.expect();
    } else {
      mail = await this.command(this.mailCommand(job));
      data = null;
      if (isOk(mail)) {
        for (const to of job.envelope.to) replies.push(await this.command(`RCPT TO:<${to}>`));
        if (replies.some(isOk)) data = await this.command('DATA');
      }
    }
    if (!isOk(mail)) return { ok: false, error: smtpError('Mail command failed', 'EENVELOPE', 'MAIL FROM', mail), reset: true };
    const accepted = job.envelope.to.filter((_, i) => isOk(replies[i]!));
    const rejected = job.envelope.to.filter((_, i) => !isOk(replies[i]!));
    if (!accepted.length) {
      const first = replies.find((r) => !isOk(r))!;
      const error = Object.assign(smtpError('Recipient command failed', 'EENVELOPE', 'RCPT TO', first), { rejected });
      // A server that still answers 354 with no recipient (RFC 2920 says it must not): end
      // the empty message with the bare terminator.
      if (data?.code === 354) {
        this.write(['.\r\n'], 1);
        await this.expect();
      }
      return { ok: false, error, reset: true };
    }
    if (data!.code !== 354) return { ok: false, error: smtpError('Data command failed', 'EENVELOPE', 'DATA', data!), reset: true };

    const next = this.pipelining ? this.takeAcceptable(takeNext) : null;
    this.pipelined = next;
    job.contentSent = true;
    this.write([...job.data, next ? `.\r\n${this.envelopeCommands(next)}` : '.\r\n'], next ? next.envelope.to.length + 3 : 1);
    const final = await this.expect();
    if (!isOk(final)) return { ok: false, error: Object.assign(smtpError('Message failed', 'EMESSAGE', 'DATA', final), { rejected }), reset: false };
    return { ok: true, result: { response: final.text, accepted, rejected } };
  }

  /** The next job that fits this connection; one that does not fails at once. */
  private takeAcceptable(takeNext: () => Job | null): Job | null {
    for (let next = takeNext(); next; next = takeNext()) {
      const refused = this.refuses(next);
      if (!refused) return next;
      next.reject(refused);
    }
    return null;
  }

  async reset(): Promise<void> {
    const reply = await this.command('RSET');
    if (!isOk(reply)) throw smtpError('Could not reset the session', 'EPROTOCOL', 'RSET', reply);
  }

  /** QUIT, then close; a server that does not answer within a second is cut off. */
  async quit(): Promise<void> {
    if (this.failure) return;
    this.quitting = true;
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    try {
      this.write(['QUIT\r\n'], 1);
      this.socket.end();
    } catch {
      // Already gone: nothing to say goodbye to.
    }
    const timer = setTimeout(() => this.socket.destroy(), 1000);
    await closed;
    clearTimeout(timer);
  }

  destroy(): void {
    this.quitting = true;
    this.socket?.destroy();
  }
}

/** RFC 5321 §4.1.1.1: a FQDN, or failing that an address literal. */
function ehloName(socket: Socket): string {
  const host = hostname();
  if (host.includes('.')) return host;
  const address = socket.localAddress ?? '127.0.0.1';
  return isIP(address) === 6 ? `[IPv6:${address}]` : `[${address}]`;
}

// ---- the pool ----

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

  async function drive(conn: SmtpConnection, first: Job): Promise<void> {
    try {
      await conn.open();
    } catch (err) {
      conn.destroy();
      // Each message gets its own connection attempt: an unreachable server fails the messages
      // one by one (the sender's retry policy decides what then), it does not loop here.
      first.reject(err as SmtpError);
      return;
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
    send(message) {
      const { from, to } = message.envelope;
      if (!to.length) return Promise.reject(smtpError('No recipients defined', 'EENVELOPE', 'API'));
      const bad = [from, ...to].find((a) => !ENVELOPE_ADDRESS.test(a));
      if (bad !== undefined) return Promise.reject(smtpError(`Invalid envelope address ${JSON.stringify(bad)}`, 'EENVELOPE', 'API'));
      if (closing) return Promise.reject(smtpError('The SMTP client is closed', 'ECONNECTION', 'API'));
      const raw = message.raw;
      const data = message.smtpReady ? (Buffer.isBuffer(raw) ? [raw] : raw) : [toSmtpData(joinedBytes(raw))];
      let size = 0;
      for (const d of data) size += d.length;
      return new Promise<SmtpSendResult>((resolve, reject) => {
        queue.push({
          envelope: { from, to: [...to] },
          data,
          size,
          rcptCommands: to.map((a) => `RCPT TO:<${a}>\r\n`).join(''),
          resolve,
          reject,
          contentSent: false,
          moved: false,
        });
        pump();
      });
    },
    async close() {
      closing = true;
      clearTimeout(rateTimer);
      for (const job of queue.splice(0)) job.reject(smtpError('The SMTP client was closed before this message was sent', 'ECONNECTION', 'API'));
      for (const w of idle.splice(0)) w.resolve(null);
      await Promise.all(running);
    },
  };
}
