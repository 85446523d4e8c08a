import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import type { Handlers } from './ipc.ts';

/**
 * The SMTP sink: accepts every message on 127.0.0.1, counts it and throws it away. It runs in its
 * own process so its CPU is not charged to the sender under test (and vice versa).
 */
export interface SinkStats {
  messages: number;
  recipients: number;
  bytes: number;
  connections: number;
  /** CPU time (user + system) since the last reset, ms. */
  cpuMs: number;
  /** Wall time from the last reset to the last message accepted, ms. */
  spanMs: number;
  /** Distinct recipient addresses seen since the last reset (only when tracking is on). */
  distinctRecipients: number | null;
}

export function sinkHandlers(): Handlers {
  let messages = 0;
  let recipients = 0;
  let bytes = 0;
  let connections = 0;
  let cpuAtReset = process.cpuUsage();
  let resetAt = performance.now();
  let lastAt = resetAt;
  let seen: Set<string> | null = null;
  const waiters: { count: number; resolve: () => void }[] = [];

  const server = new SMTPServer({
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
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      stream.on('end', () => {
        messages++;
        recipients += session.envelope.rcptTo.length;
        if (seen) for (const r of session.envelope.rcptTo) seen.add(r.address.toLowerCase());
        lastAt = performance.now();
        for (let i = waiters.length - 1; i >= 0; i--) {
          if (messages >= waiters[i]!.count) waiters.splice(i, 1)[0]!.resolve();
        }
        cb();
      });
    },
  });

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
      return { port: (server.server.address() as AddressInfo).port };
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
