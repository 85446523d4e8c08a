import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import nodemailer from 'nodemailer';
import { sinkHandlers } from '../../bench/sink-worker.ts';
import { createSmtpClient } from '../../src/mail/smtp/pool.ts';
import { toSmtpData } from '../../src/mail/smtp/message.ts';

// The bench's sink is a hand-written SMTP server: these run it in-process and speak to it with the
// two clients the bench points at it (our pipelined pool, nodemailer's pool) and with raw bytes
// written in pieces, so a terminator or a command split between two reads is exercised for real.
// Its count is what every send figure is checked against: a lost or invented message must show.

const sink = sinkHandlers();
let port: number;
beforeAll(async () => {
  ({ port } = await sink.listen());
});
afterAll(async () => {
  await sink.close();
});
beforeEach(() => {
  sink.reset({ trackRecipients: true });
});

const FROM = 'bench@bench.localhost';
const message = (to: string, body: string) =>
  Buffer.from(`From: ${FROM}\r\nTo: ${to}\r\nSubject: sink test\r\n\r\n${body}`, 'latin1');

/** Reads a raw connection's replies one at a time (a multi-line reply is one). */
function replies(socket: Socket) {
  let buf = '';
  const complete: string[] = [];
  let wake: (() => void) | null = null;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    for (let m = /^(\d{3}) .*\r\n/m.exec(buf); m; m = /^(\d{3}) .*\r\n/m.exec(buf)) {
      complete.push(m[1]!);
      buf = buf.slice(m.index + m[0].length);
    }
    wake?.();
  });
  return {
    /** The next `n` replies' codes, in order. */
    async take(n: number): Promise<string[]> {
      while (complete.length < n) await new Promise<void>((r) => (wake = r));
      return complete.splice(0, n);
    },
    /** Replies received and not yet taken: none may arrive before a message's terminator is whole. */
    pending: () => complete.length,
  };
}

async function rawSession() {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  const r = replies(socket);
  expect(await r.take(1)).toEqual(['220']);
  return { socket, r };
}

/** One write per piece, with a pause between them, so each reaches the sink as a read of its own. */
async function writeApart(socket: Socket, pieces: string[]) {
  for (const p of pieces) {
    socket.write(p);
    await new Promise((r) => setTimeout(r, 15));
  }
}

describe('bench SMTP sink, in-process', () => {
  it('when our pipelined pool sends messages (a dot-line, an empty one, two recipients), then each is counted with its recipients and bytes', async () => {
    const messages = [
      { envelope: { from: FROM, to: ['a@bench.localhost'] }, raw: message('a@bench.localhost', 'plain\r\n') },
      {
        envelope: { from: FROM, to: ['b@bench.localhost'] },
        // A line starting with "." and a line that is only ".": stuffed by the client, never an end.
        raw: message('b@bench.localhost', '.leading dot\r\n.\r\nafter the lone dot\r\n'),
      },
      { envelope: { from: FROM, to: ['c@bench.localhost'] }, raw: Buffer.alloc(0) },
      {
        envelope: { from: FROM, to: ['d@bench.localhost', 'E@bench.localhost'] },
        raw: message('d@bench.localhost', 'x'.repeat(200_000) + '\r\n'),
      },
      ...Array.from({ length: 20 }, (_, i) => ({
        envelope: { from: FROM, to: [`p${i}@bench.localhost`] },
        raw: message(`p${i}@bench.localhost`, `message ${i}\r\n`),
      })),
    ];
    const arrived = sink.waitFor({ count: messages.length, timeoutMs: 5_000 });
    const client = createSmtpClient({ url: `smtp://127.0.0.1:${port}`, poolSize: 2, ratePerSec: 0 });
    try {
      const results = await Promise.all(messages.map((m) => client.send(m)));
      expect(results.map((r) => r.rejected)).toEqual(messages.map(() => []));
    } finally {
      await client.close();
    }
    const stats = await arrived;
    expect(stats.messages).toBe(messages.length);
    expect(stats.recipients).toBe(messages.length + 1);
    expect(stats.distinctRecipients).toBe(messages.length + 1);
    expect(stats.bytes).toBe(messages.reduce((n, m) => n + toSmtpData(m.raw).length, 0));
    expect(stats.connections).toBeLessThanOrEqual(2);
  });

  it('when nodemailer pools messages to it, then it counts each once', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, pool: true, maxConnections: 2 });
    try {
      const infos = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          transport.sendMail({
            from: FROM,
            to: `n${i}@bench.localhost`,
            subject: 'sink test',
            text: `.dot line ${i}\n..two dots\nünïcödé`,
          }),
        ),
      );
      expect(infos.flatMap((info) => info.accepted)).toHaveLength(12);
    } finally {
      transport.close();
    }
    const stats = await sink.waitFor({ count: 12, timeoutMs: 5_000 });
    expect(stats).toMatchObject({ messages: 12, recipients: 12, distinctRecipients: 12 });
  });

  it('when nodemailer sends a raw message, then the bytes counted are its DATA content', async () => {
    const raw = message('raw@bench.localhost', '.a dot-line\r\nlast line\r\n');
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port });
    await transport.sendMail({ envelope: { from: FROM, to: ['raw@bench.localhost'] }, raw });
    const stats = await sink.waitFor({ count: 1, timeoutMs: 5_000 });
    expect(stats.bytes).toBe(toSmtpData(raw).length);
  });

  it('when the terminator is split across reads at every position, then each message ends exactly at its terminator', async () => {
    const { socket, r } = await rawSession();
    const envelope = (to: string) => `MAIL FROM:<${FROM}>\r\nRCPT TO:<${to}>\r\nDATA\r\n`;
    // Commands pipelined in one write, the last line cut in two ("DA" + "TA").
    await writeApart(socket, [`EHLO test\r\n${envelope('s0@bench.localhost').slice(0, -4)}`, 'TA\r\n']);
    expect(await r.take(4)).toEqual(['250', '250', '250', '354']);

    const body = 'Subject: split\r\n\r\n.stuffed\r\nend';
    const terminator = '\r\n.\r\n';
    for (let cut = 1; cut < terminator.length; cut++) {
      const i = cut - 1;
      // A stuffed ".." line cut after its first dot must not pass for the end either.
      await writeApart(socket, [`${body}\r\n.`, `.x${terminator.slice(0, cut)}`]);
      expect(r.pending()).toBe(0);
      // The rest of the terminator and the next pipelined envelope arrive in one read.
      await writeApart(socket, [terminator.slice(cut) + envelope(`s${i + 1}@bench.localhost`)]);
      expect(await r.take(4)).toEqual(['250', '250', '250', '354']);
    }
    // Byte by byte, then an empty message: "." right after 354.
    await writeApart(socket, [body, ...terminator]);
    expect(await r.take(1)).toEqual(['250']);
    await writeApart(socket, [envelope('empty@bench.localhost'), '.\r\n']);
    expect(await r.take(4)).toEqual(['250', '250', '354', '250']);
    socket.end('QUIT\r\n');
    await once(socket, 'close');

    const stats = sink.stats();
    expect(stats.messages).toBe(terminator.length + 1);
    expect(stats.distinctRecipients).toBe(terminator.length + 1);
    const content = (s: string) => Buffer.byteLength(s, 'latin1');
    expect(stats.bytes).toBe((terminator.length - 1) * content(`${body}\r\n..x\r\n`) + content(`${body}\r\n`));
  });

  it('when RSET, NOOP, an unknown command and QUIT come in one write, then each gets its reply and the sink hangs up', async () => {
    const { socket, r } = await rawSession();
    socket.write(
      `HELO test\r\nMAIL FROM:<${FROM}>\r\nRCPT TO:<x@bench.localhost>\r\nRSET\r\nDATA\r\nNOOP\r\nVRFY x\r\nQUIT\r\n`,
    );
    const codes = await r.take(8);
    // DATA after RSET has no recipient left: refused, so nothing that follows is taken as content.
    expect(codes).toEqual(['250', '250', '250', '250', '503', '250', '502', '221']);
    await once(socket, 'close');
    expect(sink.stats()).toMatchObject({ messages: 0, recipients: 0, connections: 1 });
  });

  it('when fewer messages than awaited arrive, then waitFor rejects; without tracking there is no recipient set', async () => {
    expect(sink.reset({ trackRecipients: false }).distinctRecipients).toBeNull();
    await expect(sink.waitFor({ count: 1, timeoutMs: 50 })).rejects.toThrow('sink: 0 of 1 messages after 50 ms');
  });
});
