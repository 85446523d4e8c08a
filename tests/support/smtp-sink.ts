import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

export interface SmtpSinkOptions {
  /** Return an SMTP error to refuse a recipient (e.g. { code: 550, message: '5.1.1 no such user' }). */
  onRcpt?: (address: string) => { code: number; message: string } | undefined;
  /** Return an SMTP error to refuse a whole message after its data arrived. */
  onData?: (mail: Omit<ReceivedMail, 'parsed'>) => { code: number; message: string } | undefined;
}

/** A real SMTP server on 127.0.0.1 that keeps and parses every message it accepts. */
export interface SmtpSink {
  url: string;
  port: number;
  messages: ReceivedMail[];
  options: SmtpSinkOptions;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

const smtpError = (e: { code: number; message: string }) => Object.assign(new Error(e.message), { responseCode: e.code });

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address: SMTPServerAddress, _session, cb) {
      const refusal = sink.options.onRcpt?.(address.address);
      cb(refusal ? smtpError(refusal) : undefined);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const mail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        };
        const refusal = sink.options.onData?.(mail);
        if (refusal) return cb(smtpError(refusal));
        simpleParser(mail.raw).then(
          (parsed) => {
            messages.push({ ...mail, parsed });
            cb();
          },
          (err: Error) => cb(err),
        );
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
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} messages, got ${messages.length} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return messages;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return sink;
}
