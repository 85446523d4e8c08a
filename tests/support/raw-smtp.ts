import net from 'node:net';

/**
 * An SMTP client driven line by line, for what a mail library will not do on purpose: sit idle,
 * send nothing but NOOP, stop in the middle of a message, or connect from a chosen local address
 * (any 127.x.y.z works as a source address on Linux).
 */
export interface RawSmtp {
  /** The next reply, all its lines joined by '\n'; rejects once the server has closed without one. */
  reply(): Promise<string>;
  /** Sends one command line and waits for its reply. */
  command(line: string): Promise<string>;
  /** Writes bytes as they are (a message's lines), without waiting for a reply. */
  write(data: string): void;
  /** Settles when the connection is gone (the server closed it, or destroy()). */
  closed: Promise<void>;
  destroy(): void;
}

export interface RawSmtpOptions {
  port: number;
  host?: string;
  localAddress?: string;
}

export function connectRawSmtp(o: RawSmtpOptions): Promise<RawSmtp> {
  const socket = net.connect({ port: o.port, host: o.host ?? '127.0.0.1', localAddress: o.localAddress });
  const replies: string[] = [];
  const waiting: { resolve(reply: string): void; reject(err: Error): void }[] = [];
  let pending = '';
  let lines: string[] = [];
  let ended = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    let eol: number;
    while ((eol = pending.indexOf('\r\n')) >= 0) {
      const line = pending.slice(0, eol);
      pending = pending.slice(eol + 2);
      lines.push(line);
      // The last line of a reply has a space (or nothing) after its code; the others a hyphen.
      if (/^\d{3}(?: |$)/.test(line)) {
        const reply = lines.join('\n');
        lines = [];
        const next = waiting.shift();
        if (next) next.resolve(reply);
        else replies.push(reply);
      }
    }
  });
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      ended = true;
      for (const w of waiting.splice(0)) w.reject(new Error('the server closed the connection'));
      resolve();
    }),
  );
  socket.on('error', () => {});
  const reply = () =>
    new Promise<string>((resolve, reject) => {
      const ready = replies.shift();
      if (ready !== undefined) return resolve(ready);
      if (ended) return reject(new Error('the server closed the connection'));
      waiting.push({ resolve, reject });
    });
  const client: RawSmtp = {
    reply,
    command(line) {
      socket.write(`${line}\r\n`);
      return reply();
    },
    write: (data) => void socket.write(data),
    closed,
    destroy: () => void socket.destroy(),
  };
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(client));
    socket.once('error', reject);
  });
}
