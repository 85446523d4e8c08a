import { connect, type Socket } from 'node:net';

/**
 * A minimal SMTP client that replays one pre-built message as fast as the server takes it: the
 * sink's ceiling. It uses PIPELINING (RFC 2920): the message content, its terminating dot and the
 * next MAIL FROM / RCPT TO / DATA go out in one write, so each message costs one round trip.
 * Only for the bench: no TLS, no AUTH, no retries; any unexpected reply fails the run.
 */

/** CRLF line endings and dot-stuffing, done once; the result ends with the "." terminator line. */
export function toSmtpData(raw: Buffer): Buffer {
  const text = raw.toString('latin1').replace(/\r?\n/g, '\r\n');
  const stuffed = text.replace(/^\./gm, '..');
  return Buffer.from(stuffed + (stuffed.endsWith('\r\n') ? '' : '\r\n') + '.\r\n', 'latin1');
}

class ReplyReader {
  private buf = '';
  private replies: string[] = [];
  private waiting: { resolve: (r: string) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buf += chunk;
      let nl: number;
      let start = 0;
      // A reply ends on a line whose 4th character is a space ("250 ok"), not a dash ("250-SIZE").
      while ((nl = this.buf.indexOf('\r\n', start)) !== -1) {
        const line = this.buf.slice(start, nl);
        start = nl + 2;
        if (line.length <= 3 || line[3] === ' ') this.push(line);
      }
      this.buf = this.buf.slice(start);
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  private push(reply: string) {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve(reply);
    } else this.replies.push(reply);
  }

  private fail(err: Error) {
    this.failure ??= err;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.reject(err);
    }
  }

  next(expect: string): Promise<string> {
    const check = (r: string) => {
      if (!r.startsWith(expect)) throw new Error(`expected ${expect}, got "${r}"`);
      return r;
    };
    const queued = this.replies.shift();
    if (queued !== undefined) return Promise.resolve(queued).then(check);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<string>((resolve, reject) => {
      this.waiting = { resolve, reject };
    }).then(check);
  }
}

export interface PipelinedClient {
  /** Sends `count` copies of `data` (already passed through toSmtpData) across the connections. */
  send(count: number, recipient: (i: number) => string, data: Buffer): Promise<number>;
  close(): void;
}

/**
 * Opens `connections` connections and waits for their greetings, so the timed part measures only
 * message traffic.
 */
export async function openPipelinedClient(o: {
  port: number;
  connections: number;
  from: string;
}): Promise<PipelinedClient> {
  const envelope = (rcpt: string) => `MAIL FROM:<${o.from}>\r\nRCPT TO:<${rcpt}>\r\nDATA\r\n`;
  const conns = await Promise.all(
    Array.from({ length: o.connections }, async () => {
      const socket = connect({ host: '127.0.0.1', port: o.port });
      socket.setNoDelay(true);
      const reader = new ReplyReader(socket);
      await reader.next('220');
      socket.write('EHLO bench.localhost\r\n');
      await reader.next('250');
      return { socket, reader };
    }),
  );

  return {
    async send(count, recipient, data) {
      let issued = 0;
      let sent = 0;
      const take = () => (issued < count ? recipient(issued++) : null);
      await Promise.all(
        conns.map(async ({ socket, reader }) => {
          let rcpt = take();
          if (rcpt === null) return;
          socket.write(envelope(rcpt));
          for (;;) {
            await reader.next('250');
            await reader.next('250');
            await reader.next('354');
            rcpt = take();
            // Content, terminator and the next envelope in one write: one round trip per message.
            socket.cork();
            socket.write(data);
            if (rcpt !== null) socket.write(envelope(rcpt));
            socket.uncork();
            await reader.next('250');
            sent++;
            if (rcpt === null) return;
          }
        }),
      );
      return sent;
    },
    close() {
      for (const { socket } of conns) {
        socket.end('QUIT\r\n');
        socket.destroy();
      }
    },
  };
}
