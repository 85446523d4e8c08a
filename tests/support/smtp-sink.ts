import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
  /** The session was on TLS (implicit or after STARTTLS). */
  secure: boolean;
  /** Who logged in on that session, when the sink asks for AUTH. */
  user?: string | undefined;
}

export interface SmtpSinkOptions {
  /** Return an SMTP error to refuse the sender (MAIL FROM) of a message. */
  onMailFrom?: (address: string) => { code: number; message: string } | undefined;
  /** Return an SMTP error to refuse a recipient (e.g. { code: 550, message: '5.1.1 no such user' }). */
  onRcpt?: (address: string) => { code: number; message: string } | undefined;
  /** Return an SMTP error to refuse a whole message after its data arrived. */
  onData?: (mail: Omit<ReceivedMail, 'parsed'>) => { code: number; message: string } | undefined;
  /** Return true to cut the connection as soon as a message's data starts arriving. */
  dropOnData?: (to: string[]) => boolean;
  /**
   * A slow server: wait this long before answering each message's data. Read per message, so a test can change it
   * midway.
   */
  replyDelayMs?: number;
  /** Require AUTH with these credentials (offered on plain connections too, for tests). */
  auth?: { user: string; pass: string; methods?: ('PLAIN' | 'LOGIN')[] };
  /** TLS with this key and certificate: after STARTTLS, or from the first byte (smtps). */
  tls?: { key: string; cert: string; implicit?: boolean };
  /** Do not advertise PIPELINING (RFC 2920). */
  hidePipelining?: boolean;
  /** Advertise SIZE with this limit (RFC 1870). */
  size?: number;
}

interface SinkConnections {
  /** Connections opened since the sink started. */
  opened: number;
  /** Open now, and the most that were open at once. */
  open: number;
  maxOpen: number;
  /** Successful logins, in order. */
  logins: { method: string; user: string }[];
}

/** A real SMTP server on 127.0.0.1 that keeps and parses every message it accepts. */
export interface SmtpSink {
  url: string;
  port: number;
  messages: ReceivedMail[];
  options: SmtpSinkOptions;
  connections: SinkConnections;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

const smtpError = (e: { code: number; message: string }) =>
  Object.assign(new Error(e.message), { responseCode: e.code });

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const connections: SinkConnections = { opened: 0, open: 0, maxOpen: 0, logins: [] };
  const { auth, tls } = options;
  const server: SMTPServer = new SMTPServer({
    authOptional: !auth,
    ...(auth ? { allowInsecureAuth: true, authMethods: auth.methods ?? ['PLAIN', 'LOGIN'] } : {}),
    disabledCommands: tls && !tls.implicit ? [] : ['STARTTLS'],
    ...(tls ? { key: tls.key, cert: tls.cert, secure: tls.implicit === true } : {}),
    ...(options.hidePipelining ? { hidePIPELINING: true } : {}),
    ...(options.size ? { size: options.size } : {}),
    logger: false,
    // By default every connection waits for a PTR query of 127.0.0.1 sent to the name servers.
    disableReverseLookup: true,
    onConnect(_session, cb) {
      connections.opened++;
      connections.maxOpen = Math.max(connections.maxOpen, ++connections.open);
      cb();
    },
    onClose() {
      connections.open--;
    },
    onAuth(a, _session, cb) {
      if (!auth || a.username !== auth.user || a.password !== auth.pass)
        return cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      connections.logins.push({ method: a.method, user: a.username ?? '' });
      cb(null, { user: a.username });
    },
    onMailFrom(address: SMTPServerAddress, _session, cb) {
      const refusal = sink.options.onMailFrom?.(address.address);
      cb(refusal ? smtpError(refusal) : undefined);
    },
    onRcptTo(address: SMTPServerAddress, _session, cb) {
      const refusal = sink.options.onRcpt?.(address.address);
      cb(refusal ? smtpError(refusal) : undefined);
    },
    onData(stream, session, cb) {
      const to = session.envelope.rcptTo.map((r) => r.address);
      if (sink.options.dropOnData?.(to)) {
        // Cut when the content starts arriving: the client is mid-DATA (onData runs before 354).
        stream.once('data', () => {
          for (const c of (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> })
            .connections) {
            if (c.id === session.id) c._socket.destroy();
          }
        });
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const mail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to,
          raw: Buffer.concat(chunks),
          secure: session.secure,
          user: session.user as string | undefined,
        };
        const refusal = sink.options.onData?.(mail);
        if (refusal) return cb(smtpError(refusal));
        const accept = () =>
          simpleParser(mail.raw).then(
            (parsed) => {
              messages.push({ ...mail, parsed });
              cb();
            },
            (err: Error) => cb(err),
          );
        if (sink.options.replyDelayMs) setTimeout(accept, sink.options.replyDelayMs);
        else void accept();
      });
    },
  });
  // A client dying mid-connection (the kill -9 tests do that on purpose) resets its socket:
  // that is the scenario under test, not a failure of the sink.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') throw err;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  const sink: SmtpSink = {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    options,
    connections,
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline)
          throw new Error(`expected ${count} messages, got ${messages.length} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return messages;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return sink;
}
