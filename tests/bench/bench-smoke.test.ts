import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { startSink, type Sink } from '../../bench/sink.ts';
import { openPipelinedClient, toSmtpData } from '../../bench/raw-smtp-client.ts';
import { measureSubscribe } from '../../bench/subscribe.ts';

// The bench's figures are only as good as its sink's count: these check the sink process and the
// pipelined replay client (the sink's ceiling) against each other. No timing is asserted.
describe.each(['smtp-server', 'lean'] as const)('bench SMTP sink, %s (a separate process)', (receiver) => {
  let sink: Sink;
  beforeAll(async () => {
    sink = await startSink(receiver);
  });
  afterAll(async () => {
    await sink?.stop();
  });

  it('when a pooled nodemailer sends N messages, then the sink counts N, each recipient once', async () => {
    await sink.reset({ trackRecipients: true });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, pool: true, maxConnections: 3 });
    try {
      await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          transport.sendMail({ from: 'bench@localhost', to: `r${i}@localhost`, subject: 's', text: `message ${i}` }),
        ),
      );
    } finally {
      transport.close();
    }
    const stats = await sink.waitFor(25, 5_000);
    expect(stats.messages).toBe(25);
    expect(stats.recipients).toBe(25);
    expect(stats.distinctRecipients).toBe(25);
    expect(stats.connections).toBeLessThanOrEqual(3);
  });

  it('when the pipelined client replays a message with dot-lines, then every copy arrives whole', async () => {
    const raw = Buffer.from(
      'From: a@localhost\nTo: b@localhost\nSubject: dots\n\n.leading dot\n..two dots\nlast line\n',
    );
    await sink.reset({ trackRecipients: true });
    const client = await openPipelinedClient({ port: sink.port, connections: 2, from: 'a@localhost' });
    try {
      expect(await client.send(40, (i) => `p${i}@localhost`, toSmtpData(raw))).toBe(40);
    } finally {
      client.close();
    }
    const stats = await sink.waitFor(40, 5_000);
    expect(stats.messages).toBe(40);
    expect(stats.distinctRecipients).toBe(40);
    // The DATA content without the "." terminator line: un-stuffed by smtp-server, as sent by the lean sink.
    const content =
      receiver === 'lean' ? toSmtpData(raw).length - '.\r\n'.length : raw.toString().replace(/\n/g, '\r\n').length;
    expect(stats.bytes).toBe(40 * content);
  });
});

// The abuse row's verdict rests on the mix being what it says: sign-ups accepted, the one address
// over its limit refused by the limiter, the hostile bodies refused by the validation.
describe('bench subscribe under abuse (the product app in its own process)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'paperboy-bench-smoke-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('when the mix is sent, then every sign-up gets 202, the abuser 429 and each hostile body a 4xx', async () => {
    const r = await measureSubscribe('abuse', dir, 1, 4);
    const { legitimate, 'over-limit': overLimit, hostile } = r.shares!;
    expect(legitimate.requests).toBeGreaterThan(0);
    expect(legitimate.statusCodes).toEqual({ '202': legitimate.requests });
    // Its limit was spent during the warm-up (same minute): every measured request is refused.
    expect(overLimit.statusCodes).toEqual({ '429': overLimit.requests });
    expect(Object.keys(hostile.statusCodes).sort()).toEqual(['400', '415']);
    expect(legitimate.requests + overLimit.requests + hostile.requests).toBe(r.requests);
    expect(r.errors).toBe(0);
  }, 60_000);
});
