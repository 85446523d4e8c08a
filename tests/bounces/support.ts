import nodemailer from 'nodemailer';
import { createSubscriberAdminStore } from '../../src/db/subscriber-admin-store.ts';
import type { HandleReportDeps } from '../../src/bounces/handle-report.ts';
import { handleReportDeps } from '../../src/context.ts';
import type { BounceReport, FailedRecipient } from '../../src/bounces/classify/parse-report.ts';
import { createTestContext, type TestContext } from '../support/test-context.ts';
import { ManualClock } from '../support/test-app.ts';

const MAIL_FROM = 'Paperboy <digest@papers.example.org>';

export interface BounceTest {
  ctx: TestContext;
  clock: ManualClock;
  /** Confirmed subscribers, as an import adds them; returns their ids in order. */
  subscribe(...emails: string[]): number[];
  status(id: number): string | undefined;
  /** A finished run of `date` whose deliveries to `ids` were sent. */
  sentRun(date: string, ids: number[]): void;
  /** The intake with a parser that returns `report` whatever the bytes (the classifier's stand-in). */
  deps(report?: BounceReport): HandleReportDeps;
  events(): {
    subscriber_id: number | null;
    verified: number;
    kind: string;
    status: string | null;
    diagnostic: string | null;
    source: string;
    digest_date: string | null;
    reason: string;
  }[];
}

export function createBounceTest(env: Record<string, string> = {}): BounceTest {
  const clock = new ManualClock(new Date('2026-11-25T09:00:00.000Z'));
  const ctx = createTestContext({ MAIL_FROM, ...env }, { clock });
  const admin = createSubscriberAdminStore(ctx.db);
  return {
    ctx,
    clock,
    subscribe(...emails) {
      admin.importConfirmed(
        emails.map((email, i) => ({ line: i + 2, email, digestSize: 10, keywords: '' })),
        clock.now(),
      );
      return emails.map((e) => ctx.subscribers.byEmail(e)!.id);
    },
    status: (id) => ctx.subscribers.byId(id)?.status,
    sentRun(date, ids) {
      const at = `${date}T07:00:00.000Z`;
      const run = ctx.db
        .prepare(
          "INSERT INTO send_runs (digest_date, status, started_at, finished_at, sent, updated_at) VALUES (?, 'done', ?, ?, ?, ?) RETURNING id",
        )
        .get(date, at, at, ids.length, at) as { id: number };
      const delivery = ctx.db.prepare(
        "INSERT INTO send_deliveries (run_id, subscriber_id, status, attempts, updated_at) VALUES (?, ?, 'sent', 1, ?)",
      );
      for (const id of ids) delivery.run(run.id, id, at);
    },
    deps(report) {
      return handleReportDeps(ctx, async () => {
        if (!report) throw new Error('no report given to the test parser');
        return report;
      });
    },
    events: () => ctx.db.prepare('SELECT * FROM bounce_events ORDER BY id').all() as ReturnType<BounceTest['events']>,
  };
}

export const recipient = (
  address: string,
  decision: FailedRecipient['decision'],
  more: Partial<FailedRecipient> = {},
): FailedRecipient => ({
  address,
  decision,
  reason:
    decision === 'hard'
      ? 'userunknown'
      : decision === 'soft'
        ? 'mailbox-full'
        : decision === 'complaint'
          ? 'feedback'
          : 'vacation',
  ...(decision === 'hard'
    ? { status: '5.1.1', diagnostic: `550 5.1.1 <${address}>: Recipient address rejected: User unknown` }
    : {}),
  ...(decision === 'soft' ? { status: '4.2.2', diagnostic: '452 4.2.2 Mailbox full' } : {}),
  ...more,
});

export const dsn = (recipients: FailedRecipient[], more: Partial<BounceReport> = {}): BounceReport => ({
  kind: 'dsn',
  recipients,
  envelopeTo: [],
  ...more,
});

/** Hands a report to an SMTP listener on 127.0.0.1 as a mail system would: null sender, one recipient. */
export async function deliverReport(port: number, to: string, raw: Buffer | string, localAddress?: string) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    ...(localAddress ? { localAddress } : {}),
    secure: false,
    ignoreTLS: true,
    connectionTimeout: 5_000,
    socketTimeout: 30_000,
  });
  try {
    return await transport.sendMail({ envelope: { from: '', to: [to] }, raw });
  } finally {
    transport.close();
  }
}
