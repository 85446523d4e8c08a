import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * The SMTP sink: accepts every message on 127.0.0.1, counts it and throws it away. It runs in its
 * own process so its CPU is not charged to the sender under test (and vice versa). It stands in
 * for the receiving MTA, which in production is another machine; here it shares the two cores
 * with the sender. Two receivers:
 *
 * - 'smtp-server': the smtp-server package, a full SMTP server that un-stuffs the content it
 *   streams (~0.2–0.35 ms of CPU per 49 KB message). The send and memory sections measure against
 *   it, as every earlier run did: their ceiling (the most a client can push through it) and the
 *   product's share of it keep their meaning from run to run.
 * - 'lean': a minimal server on node:net (~0.05–0.15 ms per message), for the figures that are
 *   about the sender's own use of the two cores (DKIM on worker threads), which a receiver taking
 *   a third of a core would cap. No TLS, no AUTH, no parsing of the content, which is only scanned
 *   for its terminator with Buffer.indexOf (native), never copied or un-stuffed; the replies to one
 *   read go out in one write (RFC 2920 lets a server batch them).
 */
export type SinkReceiver = 'smtp-server' | 'lean';

export interface SinkStats {
  messages: number;
  recipients: number;
  /**
   * Content bytes of the messages accepted: the DATA content up to and including the CRLF before
   * the terminating "." line, as it came over the wire (lean: still dot-stuffed) or un-stuffed
   * (smtp-server).
   */
  bytes: number;
  connections: number;
  /** CPU time (user + system) since the last reset, ms. */
  cpuMs: number;
  /** Wall time from the last reset to the last message accepted, ms. */
  spanMs: number;
  /** Distinct recipient addresses seen since the last reset (only when tracking is on). */
  distinctRecipients: number | null;
}

const CRLF = Buffer.from('\r\n');
const TERMINATOR = Buffer.from('\r\n.\r\n');
/** RFC 5321 allows 512 octets per command line; SMTPUTF8 addresses may be longer, so be generous. */
const MAX_LINE = 16 * 1024;
// What our pipelined client and nodemailer look for. No SIZE: both would then add SIZE= to MAIL FROM
// for a check the sink never makes. No ENHANCEDSTATUSCODES or DSN: the replies carry neither.
const EHLO_REPLY = '250-sink.localhost\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n';
const OK = '250 OK\r\n';

/** One client connection's state: a command line cut by a read, or the message being received. */
class SinkSession {
  private partial: Buffer | null = null;
  private inData = false;
  /**
   * The last (up to 4) content bytes of the previous read: the terminator may straddle two reads.
   * It starts as the DATA line's CRLF, so an empty message (".\r\n" right after 354) ends too.
   */
  private tail = CRLF;
  /** Bytes read since 354, terminator included. */
  private size = 0;
  private mail = false;
  private rcpts: string[] = [];
  private quit = false;

  constructor(
    private readonly socket: Socket,
    private readonly onMessage: (rcpts: string[], bytes: number) => void,
  ) {}

  read(chunk: Buffer): void {
    if (this.quit) return;
    let buf = chunk;
    if (this.partial) {
      buf = Buffer.concat([this.partial, chunk]);
      this.partial = null;
    }
    let out = '';
    let at = 0;
    while (at < buf.length) {
      if (this.inData) {
        const end = this.contentEnd(buf, at);
        if (end === -1) {
          this.size += buf.length - at;
          break;
        }
        this.size += end - at;
        at = end;
        // The last 3 bytes are the "." line; the CRLF before it ends the content's last line.
        this.onMessage(this.rcpts, this.size - 3);
        this.inData = false;
        this.resetTransaction();
        out += OK;
        continue;
      }
      const nl = buf.indexOf(10, at);
      if (nl === -1) {
        if (buf.length - at > MAX_LINE) return this.close(`${out}500 Line too long\r\n`);
        this.partial = buf.subarray(at);
        break;
      }
      const line = buf.toString('latin1', at, buf[nl - 1] === 13 ? nl - 1 : nl);
      at = nl + 1;
      out += this.command(line);
      if (this.quit) return this.close(out);
    }
    if (out) this.socket.write(out);
  }

  /** Where the terminator ends in buf (searched from `at`), or -1 with the tail kept for the next read. */
  private contentEnd(buf: Buffer, at: number): number {
    // At most 8 bytes: a terminator across the seam of two reads ends within this read's first 4.
    const seam = Buffer.concat([this.tail, buf.subarray(at, at + 4)]);
    const inSeam = seam.indexOf(TERMINATOR);
    if (inSeam !== -1) return at + inSeam + TERMINATOR.length - this.tail.length;
    const i = buf.indexOf(TERMINATOR, at);
    if (i !== -1) return i + TERMINATOR.length;
    // The last 4 bytes seen: the seam holds them when this read brought fewer than that.
    const last = buf.length - at >= 4 ? buf.subarray(buf.length - 4) : seam;
    this.tail = Buffer.from(last.subarray(Math.max(0, last.length - 4)));
    return -1;
  }

  private command(line: string): string {
    const space = line.indexOf(' ');
    switch ((space === -1 ? line : line.slice(0, space)).toUpperCase()) {
      case 'EHLO':
        this.resetTransaction();
        return EHLO_REPLY;
      case 'HELO':
        this.resetTransaction();
        return '250 sink.localhost\r\n';
      case 'MAIL':
        this.resetTransaction();
        this.mail = true;
        return OK;
      case 'RCPT': {
        if (!this.mail) return '503 MAIL first\r\n';
        const address = /<([^>]*)>/.exec(line)?.[1];
        if (address === undefined) return '501 Syntax: RCPT TO:<address>\r\n';
        this.rcpts.push(address);
        return OK;
      }
      case 'DATA':
        if (!this.rcpts.length) return '503 RCPT first\r\n';
        this.inData = true;
        this.tail = CRLF;
        this.size = 0;
        return '354 End data with <CR><LF>.<CR><LF>\r\n';
      case 'RSET':
        this.resetTransaction();
        return OK;
      case 'NOOP':
        return OK;
      case 'QUIT':
        this.quit = true;
        return '221 Bye\r\n';
      default:
        return '502 Command not implemented\r\n';
    }
  }

  private resetTransaction(): void {
    this.mail = false;
    this.rcpts = [];
  }

  private close(last: string): void {
    this.quit = true;
    this.socket.end(last);
  }
}

/** The sink's calls (see ipc.ts); typed, so a test can also run the sink in-process. */
export function sinkHandlers(receiver: SinkReceiver = 'lean') {
  let messages = 0;
  let recipients = 0;
  let bytes = 0;
  let connections = 0;
  let cpuAtReset = process.cpuUsage();
  let resetAt = performance.now();
  let lastAt = resetAt;
  let seen: Set<string> | null = null;
  const waiters: { count: number; resolve: () => void }[] = [];

  const accepted = (rcpts: string[], size: number) => {
    messages++;
    recipients += rcpts.length;
    bytes += size;
    if (seen) for (const r of rcpts) seen.add(r.toLowerCase());
    lastAt = performance.now();
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (messages >= waiters[i]!.count) waiters.splice(i, 1)[0]!.resolve();
    }
  };

  const server = receiver === 'lean' ? leanServer() : smtpServer();

  function leanServer(): Server {
    return createServer((socket) => {
      connections++;
      // Replies are small and awaited by a pipelining client: Nagle would hold them back.
      socket.setNoDelay(true);
      // A sink for load: no idle disconnects mid-run, but no connection lives forever either.
      socket.setTimeout(300_000, () => socket.destroy());
      // A client that resets the connection is its own problem; the sink just forgets it.
      socket.on('error', () => undefined);
      const session = new SinkSession(socket, accepted);
      socket.on('data', (chunk: Buffer) => session.read(chunk));
      socket.write('220 sink.localhost ESMTP\r\n');
    });
  }

  function smtpServer(): Server {
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      disableReverseLookup: true,
      logger: false,
      // A sink for load: no idle disconnects mid-run, no client cap.
      socketTimeout: 300_000,
      onConnect(_session, cb) {
        connections++;
        cb();
      },
      onData(stream, session, cb) {
        let size = 0;
        stream.on('data', (chunk: Buffer) => (size += chunk.length));
        stream.on('end', () => {
          accepted(
            session.envelope.rcptTo.map((r) => r.address),
            size,
          );
          cb();
        });
      },
    });
    return smtp.server;
  }

  const stats = (): SinkStats => {
    const cpu = process.cpuUsage(cpuAtReset);
    return {
      messages,
      recipients,
      bytes,
      connections,
      cpuMs: (cpu.user + cpu.system) / 1000,
      spanMs: lastAt - resetAt,
      distinctRecipients: seen ? seen.size : null,
    };
  };

  return {
    async listen(): Promise<{ port: number }> {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      return { port: (server.address() as AddressInfo).port };
    },
    /** Zeroes the counters; `trackRecipients` keeps a set of addresses to prove each got one. */
    reset(params: { trackRecipients?: boolean } | null): SinkStats {
      messages = recipients = bytes = connections = 0;
      seen = params?.trackRecipients ? new Set() : null;
      cpuAtReset = process.cpuUsage();
      resetAt = lastAt = performance.now();
      return stats();
    },
    stats,
    /** Stops listening once the clients have gone (a test running the sink in-process). */
    close(): Promise<void> {
      return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
    /** Resolves when `count` messages arrived since the reset (or rejects after timeoutMs). */
    waitFor(params: { count: number; timeoutMs: number }): Promise<SinkStats> {
      if (messages >= params.count) return Promise.resolve(stats());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`sink: ${messages} of ${params.count} messages after ${params.timeoutMs} ms`)),
          params.timeoutMs,
        );
        waiters.push({
          count: params.count,
          resolve: () => {
            clearTimeout(timer);
            resolve(stats());
          },
        });
      });
    },
  };
}
