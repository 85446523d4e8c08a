import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { hostname } from 'node:os';
import type { SmtpTarget } from './url.ts';
import type { SmtpMessage, SmtpSendResult } from './message.ts';
import {
  connectionError,
  isOk,
  openingConduct,
  sessionError,
  smtpError,
  type OpeningStep,
  type Reply,
  type SmtpError,
} from './replies.ts';

/**
 * One SMTP connection: opening (connect, greeting, EHLO, STARTTLS, AUTH), then messages, each
 * with the next one's envelope pipelined behind its content (RFC 2920).
 */

const MAX_REPLY_CHARS = 64 * 1024;

export interface Resolved {
  target: SmtpTarget;
  connectionTimeoutMs: number;
  greetingTimeoutMs: number;
  socketTimeoutMs: number;
  tls: ConnectionOptions;
}

export interface Job {
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

export class SmtpConnection {
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
  /** Where opening the session is (or stopped); `isOpening` until open() has settled. */
  private step: OpeningStep = 'connect';
  private isOpening = true;
  private quitting = false;
  private extensions = new Map<string, string>();
  pipelining = false;
  private maxSize = 0;
  /** The job whose envelope went out behind the current message's content. */
  pipelined: Job | null = null;
  /** Called once when the connection breaks (error, timeout, server closing) while not quitting. */
  onBroken: (() => void) | null = null;

  constructor(private readonly options: Resolved) {
    this.failed = new Promise<never>((_, reject) => {
      this.rejectFailed = reject;
    });
    this.failed.catch(() => undefined);
  }

  get broken(): boolean {
    return this.failure !== null;
  }

  /** The session runs over TLS (smtps, or after STARTTLS). */
  get secure(): boolean {
    return (this.socket as TLSSocket | undefined)?.encrypted === true;
  }

  // -- opening: connect, greeting, EHLO, STARTTLS, AUTH --

  /** Opens the session; a failure says what the server had done by then (`serverDid`). */
  async open(): Promise<void> {
    try {
      await this.openSession();
    } catch (err) {
      const e = err as SmtpError;
      e.serverDid ??= openingConduct(this.step, e);
      throw e;
    } finally {
      this.isOpening = false;
    }
  }

  /** Ends an opening still under way (its caller gave up waiting), as a timeout at the step it is on. */
  abandonOpening(): void {
    if (this.isOpening) this.fail(smtpError(`Gave up waiting at ${this.step}`, 'ETIMEDOUT', 'CONN'));
  }

  private async openSession(): Promise<void> {
    const { target: t } = this.options;
    const tlsOptions = this.tlsOptions();
    const socket = t.secure
      ? tlsConnect({ host: t.host, port: t.port, ...tlsOptions })
      : netConnect({ host: t.host, port: t.port });
    this.attach(socket);
    this.handshaking = t.secure;
    await this.within(this.options.connectionTimeoutMs, 'Connection timeout', () =>
      this.event(socket, t.secure ? 'secureConnect' : 'connect'),
    );
    this.handshaking = false;
    socket.setNoDelay(true);
    this.step = 'greeting';
    const greeting = await this.within(this.options.greetingTimeoutMs, 'Greeting never received', () => this.expect());
    if (greeting.code !== 220) throw sessionError('The server refused the session', 'ECONNECTION', 'CONN', greeting);
    socket.setTimeout(this.options.socketTimeoutMs);

    await this.ehlo();
    if (!t.secure && !t.ignoreTLS && this.extensions.has('STARTTLS')) {
      this.step = 'STARTTLS';
      const reply = await this.command('STARTTLS');
      if (reply.code !== 220) throw smtpError('STARTTLS failed', 'ETLS', 'STARTTLS', reply);
      await this.upgrade(tlsOptions);
      await this.ehlo();
    } else if (!t.secure && t.requireTLS) {
      throw smtpError('The server does not offer STARTTLS and the URL says requireTLS', 'ETLS', 'STARTTLS');
    }
    if (t.auth) {
      this.step = 'AUTH';
      await this.authenticate(t.auth);
    }
    this.pipelining = this.extensions.has('PIPELINING');
    this.maxSize = Number(this.extensions.get('SIZE')) || 0;
  }

  private tlsOptions(): ConnectionOptions {
    const { target: t } = this.options;
    return {
      ...this.options.tls,
      // SNI takes a host name, never an address.
      ...(isIP(t.host) ? {} : { servername: t.host }),
      ...(t.rejectUnauthorized === null ? {} : { rejectUnauthorized: t.rejectUnauthorized }),
    };
  }

  private async ehlo(): Promise<void> {
    this.step = 'EHLO';
    const name = this.options.target.name ?? ehloName(this.socket);
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
      throw smtpError(
        `The server offers no AUTH PLAIN or LOGIN (offered: ${offered.join(' ') || 'none'})`,
        'EAUTH',
        'AUTH',
      );
    }
    if (reply.code !== 235)
      throw smtpError('Invalid login', 'EAUTH', `AUTH ${offered.includes('PLAIN') ? 'PLAIN' : 'LOGIN'}`, reply);
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
    await this.within(this.options.connectionTimeoutMs, 'TLS handshake timeout', () =>
      this.event(secure, 'secureConnect'),
    );
    this.handshaking = false;
    secure.setTimeout(this.options.socketTimeoutMs);
  }

  // -- socket and replies --

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.read(chunk));
    socket.on('error', (err: Error & { syscall?: string }) =>
      this.fail(connectionError(err, this.handshaking && !err.syscall ? 'ETLS' : 'ECONNECTION')),
    );
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
      if (!/^[2-5]\d\d$/.test(line.slice(0, 3)))
        return this.fail(
          smtpError(`Invalid reply from the server: ${JSON.stringify(text.slice(0, 200))}`, 'EPROTOCOL', 'CONN'),
        );
      // A reply nothing asked for (typically "421 … closing" on an idle connection): this
      // conversation is over, and taking it as the answer to a later command would be wrong.
      if (this.owed === 0)
        return this.fail(sessionError('Unexpected reply from the server', 'EPROTOCOL', 'CONN', { code, text }));
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
      return smtpError(
        `Message size ${job.size} exceeds the server's limit of ${this.maxSize}`,
        'EMESSAGE',
        'MAIL FROM',
      );
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
    if (!isOk(mail))
      return { ok: false, error: smtpError('Mail command failed', 'EENVELOPE', 'MAIL FROM', mail), reset: true };
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
    if (data!.code !== 354)
      return { ok: false, error: smtpError('Data command failed', 'EENVELOPE', 'DATA', data!), reset: true };

    const next = this.pipelining ? this.takeAcceptable(takeNext) : null;
    this.pipelined = next;
    job.contentSent = true;
    this.write(
      [...job.data, next ? `.\r\n${this.envelopeCommands(next)}` : '.\r\n'],
      next ? next.envelope.to.length + 3 : 1,
    );
    const final = await this.expect();
    if (!isOk(final))
      return {
        ok: false,
        error: Object.assign(smtpError('Message failed', 'EMESSAGE', 'DATA', final), { rejected }),
        reset: false,
      };
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
