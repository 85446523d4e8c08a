import type { Mailer } from '../src/mail/mailer.ts';
import { BENCH_FROM, BENCH_FROM_ADDRESS } from './fixtures.ts';

/** What every sender of the send benchmark implements, and the helpers they share. */

/** What every sender implements; `run` is the only timed part. */
export interface Sender {
  prepare(): Promise<void>;
  run(): Promise<{ sent: number; firstMessageMs?: number | undefined; detail?: unknown }>;
  close(): Promise<void> | void;
}

/**
 * Fills every connection of the pool once, so opening connections is not timed. The mailer has
 * one pool for every kind of mail, so pre-built messages warm it.
 */
export async function warmPool(mailer: Pick<Mailer, 'sendPrebuilt'>, poolSize: number): Promise<void> {
  const raw = Buffer.from(`From: ${BENCH_FROM}\r\nSubject: warm-up\r\n\r\nwarm-up\r\n`, 'latin1');
  await Promise.all(
    Array.from({ length: poolSize }, (_, i) =>
      mailer.sendPrebuilt({ envelope: { from: BENCH_FROM_ADDRESS, to: [`warmup-raw${i}@bench.localhost`] }, raw }),
    ),
  );
}

/** Keeps `window` sends in flight: enough to keep every pooled connection busy. */
export async function sendWindowed(
  n: number,
  window: number,
  sendOne: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  let sent = 0;
  await Promise.all(
    Array.from({ length: Math.min(window, n) }, async () => {
      while (next < n) {
        const i = next++;
        await sendOne(i);
        sent++;
      }
    }),
  );
  return sent;
}
