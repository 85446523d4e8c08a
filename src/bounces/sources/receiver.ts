import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { handleReport, type HandleReportDeps } from '../handle-report.ts';
import { limitSessions, sessionLimits, type SessionLimits } from './session-limits.ts';
import { parseVerpAddress } from '../verp.ts';
import { parseUnsubscribeAddress } from '../unsubscribe-address.ts';

/**
 * The bounce receiver: an SMTP server for the bounce domain's mail, and nothing else. It takes
 * a message only for our own recipients (isOurAddress: so it never relays, and a forged address
 * is refused at RCPT before any data is read), refuses anything larger than
 * `maxBytes` (552), and hands each message to the report intake with its envelope recipients,
 * which name the subscriber. The operator points the bounce domain's MX, or a Postfix
 * transport, at it (docs/deliverability.md, Sending domain). Its sessions are limited per client address, in all,
 * in commands, in messages and in idle time (session-limits.ts); the service sets only the
 * per-client cap, tests shorten the others.
 */
export interface BounceReceiverOptions extends Partial<SessionLimits> {
  host: string;
  port: number;
  maxBytes: number;
  maxPerClient: number;
}

export interface BounceReceiver {
  /** The port it listens on (the one asked for, or the one picked for port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * The recipients the receiver takes: signed VERP addresses (bounces), readers' signed unsubscribe
 * addresses, and BOUNCE_FBL_ADDRESS (feedback loops). Anything else is refused at RCPT, so it never
 * relays and a forged address never reaches the intake.
 */
function isOurAddress(deps: HandleReportDeps, address: string): boolean {
  return (
    parseVerpAddress(address, deps.secret, deps.bounceDomain) !== null ||
    parseUnsubscribeAddress(address, deps.secret, deps.bounceDomain) !== null ||
    (deps.fblAddress !== undefined && address.toLowerCase() === deps.fblAddress.toLowerCase())
  );
}

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

export async function startBounceReceiver(
  deps: HandleReportDeps,
  options: BounceReceiverOptions,
): Promise<BounceReceiver> {
  const log = deps.logger.child({ component: 'bounce-receiver' });
  const server = new SMTPServer({
    name: deps.bounceDomain,
    banner: 'bounce receiver',
    // Nobody logs in: the signed recipient is the only credential. No TLS certificate is
    // configured for it, so STARTTLS is not offered (senders fall back to plain SMTP).
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: options.maxBytes,
    rejectOversized: true,
    // No maxClients: smtp-server's counts connections not yet greeted, which a burst from one
    // address fills for everyone. limitSessions below counts the sessions it lets in instead.
    // The signed recipient decides; the client's reverse DNS name would only cost a lookup per connection.
    disableReverseLookup: true,
    logger: false,
    onRcptTo(address, _session, cb) {
      if (isOurAddress(deps, address.address)) return cb();
      cb(smtpError(550, '5.1.1 No such recipient here'));
    },
    onData(stream: SMTPServerDataStream, session, cb) {
      const chunks: Buffer[] = [];
      // Past the limit the rest is read and dropped; smtp-server then answers 552 itself.
      stream.on('data', (chunk: Buffer) => {
        if (!stream.sizeExceeded) chunks.push(chunk);
      });
      stream.on('end', () => {
        const rcptTo = session.envelope.rcptTo.map((r) => r.address);
        if (stream.sizeExceeded) {
          log.warn({ rcptTo, maxBytes: options.maxBytes }, 'bounce receiver: message over BOUNCE_MAX_BYTES refused');
          return cb(smtpError(552, '5.3.4 Message too big'));
        }
        handleReport(deps, Buffer.concat(chunks), { kind: 'smtp', name: 'receiver', rcptTo }).then(
          (handled) => {
            log.info(
              {
                rcptTo,
                kind: handled.kind,
                verp: handled.verp,
                ...(handled.quarantined ? { quarantined: handled.quarantined.reason } : {}),
                ...(handled.unsubscribed ? { unsubscribed: handled.unsubscribed } : {}),
                ...(handled.refused ? { refused: handled.refused } : {}),
                recipients: handled.recipients.map((r) => ({
                  decision: r.decision,
                  status: r.status,
                  effect: r.applied.effect,
                  subscriberId: r.applied.subscriber?.id,
                })),
              },
              'bounce receiver: report handled',
            );
            cb(handled.refused ? smtpError(550, `5.7.1 ${handled.refused}`) : undefined);
          },
          (err: unknown) => {
            // Our fault (the database, a bug), not the sender's: 451 makes its MTA try again later.
            log.error({ err, rcptTo }, 'bounce receiver: report not handled');
            cb(smtpError(451, '4.3.0 Report not handled, try again later'));
          },
        );
      });
    },
  });
  const limits = sessionLimits(options);
  limitSessions(server, limits, log);
  // A peer that resets its connection is its own business; anything else is logged, not fatal.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') log.warn({ err }, 'bounce receiver: connection error');
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  log.info({ host: options.host, port, maxBytes: options.maxBytes, ...limits }, 'bounce receiver listening');
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
