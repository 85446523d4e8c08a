import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricsStore } from '../db/metrics-store.ts';
import type { Clock } from '../clock.ts';
import { BIG_PROVIDERS, providerLabel } from '../bounces/domains.ts';
import type { Config } from '../config.ts';
import { effectiveGroups, nextSlice, type AudienceGroup } from '../jobs/local-morning.ts';
import { morningOf } from '../jobs/scheduler.ts';

/** Runs reported one by one: a label per digest date, bounded so the series do not pile up. */
const RECENT_RUNS = 14;

const SUBSCRIBER_STATUSES = ['pending', 'confirmed', 'unsubscribed', 'suppressed'];
const SUBSCRIBER_EVENTS = ['signup', 'confirmation', 'unsubscribe', 'suppression', 'import'];
const CAP_SCOPES = ['address', 'domain'];
const QUEUE_STATUSES = ['queued', 'failed'];
const BOUNCE_KINDS = ['hard', 'soft', 'complaint', 'ignore', 'sender', 'delayed'];
const CHANNEL_STATES = ['enabled', 'disabled'];
const RUN_OUTCOMES = ['sent', 'failed', 'skipped', 'pending'] as const;

export interface Metrics {
  registry: Registry;
  /** One answered HTTP request: its route pattern (undefined when no route matched) and time taken. */
  observeRequest(method: string, route: string | undefined, status: number, ms: number): void;
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

/** Every label value listed, with 0 where the database has no row: a missing series reads as "no data", not 0. */
function byKey<K extends string>(
  known: readonly string[],
  rows: (Record<K, string> & { n: number })[],
  key: K,
): Map<string, number> {
  const out = new Map(known.map((k) => [k, 0]));
  for (const r of rows) out.set(r[key], r.n);
  return out;
}

/**
 * The service's Prometheus registry (one per app, not prom-client's global one). Everything about
 * subscribers, runs, the queue and bounces is read from SQLite at scrape time, so it is right
 * after a restart and counts what the CLIs and the cron job did too; only HTTP latency lives in
 * memory.
 */
export function createMetrics(store: MetricsStore, clock: Clock, schedule?: ScheduleDeps): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  subscriberMetrics(store, registers);
  confirmationCapMetrics(store, registers);
  runRecipientMetrics(store, registers);
  lastRunMetrics(store, registers);
  if (schedule) nextSliceMetrics(clock, schedule, registers);
  mailQueueMetrics(store, clock, registers);
  bounceMetrics(store, registers);
  channelMetrics(store, registers);

  const http = new Histogram({
    name: 'paperboy_http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by route pattern and status class.',
    labelNames: ['method', 'route', 'status_class'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });

  return {
    registry,
    observeRequest(method, route, status, ms) {
      // Unmatched paths share one label: scanners probing random URLs must not mint series.
      http.observe({ method, route: route ?? 'unmatched', status_class: `${Math.floor(status / 100)}xx` }, ms / 1000);
    },
  };
}

/** Subscribers by status now, and what happened to them since the database was created. */
function subscriberMetrics(store: MetricsStore, registers: Registry[]): void {
  new Gauge({
    name: 'paperboy_subscribers',
    help: 'Subscribers by status.',
    labelNames: ['status'],
    registers,
    collect() {
      for (const [status, n] of byKey(SUBSCRIBER_STATUSES, store.subscribersByStatus(), 'status'))
        this.set({ status }, n);
    },
  });

  // Kept by triggers in the database (migrations/015): a restart does not reset them.
  new Counter({
    name: 'paperboy_subscriber_events_total',
    help: 'Sign-ups (including re-subscribes), confirmations, unsubscribes, suppressions and imported addresses, since the database was created.',
    labelNames: ['event'],
    registers,
    collect() {
      this.reset();
      for (const [event, n] of byKey(SUBSCRIBER_EVENTS, store.subscriberEvents(), 'event')) this.inc({ event }, n);
    },
  });
}

/** Kept in the database (migrations/020), counted where a cap holds a confirmation email back. */
function confirmationCapMetrics(store: MetricsStore, registers: Registry[]): void {
  new Counter({
    name: 'paperboy_confirmations_capped_total',
    help: 'Confirmation (or "already subscribed") emails not sent because a cap was full, by the cap: per address (mailbox) or per domain.',
    labelNames: ['scope'],
    registers,
    collect() {
      this.reset();
      for (const [scope, n] of byKey(CAP_SCOPES, store.confirmationsCapped(), 'scope')) this.inc({ scope }, n);
    },
  });
}

/** The recent runs' recipients by outcome. */
function runRecipientMetrics(store: MetricsStore, registers: Registry[]): void {
  new Gauge({
    name: 'paperboy_digest_run_recipients',
    help: `Recipients of each of the last ${RECENT_RUNS} digest runs by outcome; pending is what is left to send while a run is open.`,
    labelNames: ['digest_date', 'cadence', 'outcome'],
    registers,
    collect() {
      this.reset();
      for (const run of store.recentRuns(RECENT_RUNS)) {
        for (const outcome of RUN_OUTCOMES)
          this.set({ digest_date: run.digestDate, cadence: run.cadence, outcome }, run[outcome]);
      }
    },
  });
}

/** The run worked on last: its date and status, when it started and ended, how long it took. */
function lastRunMetrics(store: MetricsStore, registers: Registry[]): void {
  new Gauge({
    name: 'paperboy_last_digest_run_info',
    help: 'The digest run worked on last (1), with its digest date and status (running, paused, failed, done, empty).',
    labelNames: ['digest_date', 'cadence', 'status'],
    registers,
    collect() {
      this.reset();
      const run = store.lastRun();
      if (run) this.set({ digest_date: run.digestDate, cadence: run.cadence, status: run.status }, 1);
    },
  });
  new Gauge({
    name: 'paperboy_last_digest_run_start_timestamp_seconds',
    help: 'When the last digest run started (its subscriber cut-off; kept when a run is resumed).',
    registers,
    collect() {
      this.reset();
      const run = store.lastRun();
      if (run) this.set(seconds(run.startedAt));
    },
  });
  new Gauge({
    name: 'paperboy_last_digest_run_end_timestamp_seconds',
    help: 'When the last digest run finished (0 while it is open).',
    registers,
    collect() {
      this.reset();
      const run = store.lastRun();
      if (run?.finishedAt) this.set(seconds(run.finishedAt));
    },
  });
  new Gauge({
    name: 'paperboy_last_digest_run_duration_seconds',
    help: 'From start to finish of the last digest run; while it is open, to its latest progress.',
    registers,
    collect() {
      this.reset();
      const run = store.lastRun();
      if (run) this.set(seconds(run.finishedAt ?? run.updatedAt) - seconds(run.startedAt));
    },
  });
}

/** What the next-slice gauges read: the schedule's settings, and the readers' groups as the scheduler counts them. */
interface ScheduleDeps {
  config: Pick<Config, 'DIGEST_CRON' | 'DIGEST_TZ' | 'WEEKLY_DAY' | 'DELIVERY_MODE'>;
  audienceGroups(cadence: 'daily' | 'weekly'): AudienceGroup[];
}

/** Per cadence, when the next slice of readers goes (in batch mode, the next send) and how many it holds. */
function nextSliceMetrics(clock: Clock, { config, audienceGroups }: ScheduleDeps, registers: Registry[]): void {
  const mornings = { daily: morningOf(config, 'daily'), weekly: morningOf(config, 'weekly') };
  const next = (cadence: 'daily' | 'weekly') =>
    nextSlice(
      clock.now(),
      mornings[cadence],
      effectiveGroups(audienceGroups(cadence), mornings[cadence].defaultHour),
      config.DELIVERY_MODE === 'batch',
    );
  new Gauge({
    name: 'paperboy_digest_next_slice_timestamp_seconds',
    help: 'When the next slice of readers gets their digest (each reader at their own hour), by cadence; absent with no readers.',
    labelNames: ['cadence'],
    registers,
    collect() {
      this.reset();
      for (const cadence of ['daily', 'weekly'] as const) {
        const slice = next(cadence);
        if (slice) this.set({ cadence }, slice.at.getTime() / 1000);
      }
    },
  });
  new Gauge({
    name: 'paperboy_digest_next_slice_readers',
    help: 'How many readers the next slice holds, by cadence.',
    labelNames: ['cadence'],
    registers,
    collect() {
      this.reset();
      for (const cadence of ['daily', 'weekly'] as const) this.set({ cadence }, next(cadence)?.readers ?? 0);
    },
  });
}

/** The transactional mail queue: what waits or failed, and how long the oldest has waited. */
function mailQueueMetrics(store: MetricsStore, clock: Clock, registers: Registry[]): void {
  new Gauge({
    name: 'paperboy_mail_queue_messages',
    help: 'Transactional emails (confirmations) waiting to be sent (queued) or given up on (failed).',
    labelNames: ['status'],
    registers,
    collect() {
      for (const [status, n] of byKey(QUEUE_STATUSES, store.mailQueueByStatus(), 'status')) this.set({ status }, n);
    },
  });

  // An age rather than a timestamp: an empty queue reads 0, which no "older than" alert mistakes for 1970.
  new Gauge({
    name: 'paperboy_mail_queue_oldest_age_seconds',
    help: 'How long the oldest email still waiting in the mail queue has waited (0 when none waits).',
    registers,
    collect() {
      const oldest = store.oldestQueuedAt();
      this.set(oldest ? Math.max(0, clock.now().getTime() / 1000 - seconds(oldest)) : 0);
    },
  });
}

/** Bounce reports by kind, and refusals about the sender by receiving provider. */
function bounceMetrics(store: MetricsStore, registers: Registry[]): void {
  new Counter({
    name: 'paperboy_bounces_total',
    help: 'Bounce and complaint reports received, by kind (hard, soft, complaint, ignore, sender, delayed).',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const [kind, n] of byKey(BOUNCE_KINDS, store.bouncesByKind(), 'kind')) this.inc({ kind }, n);
    },
  });

  new Counter({
    name: 'paperboy_sender_refusals_total',
    help: 'Refusals about the sender (spam, reputation, blocklists, policy, authentication, rate limits) by receiving domain: the big mailbox providers by name, the rest as other.',
    labelNames: ['domain'],
    registers,
    collect() {
      this.reset();
      const byLabel = new Map([...BIG_PROVIDERS, 'other'].map((d) => [d, 0]));
      for (const r of store.senderRefusalsByDomain()) {
        const label = providerLabel(r.domain);
        byLabel.set(label, byLabel.get(label)! + r.n);
      }
      for (const [domain, n] of byLabel) this.inc({ domain }, n);
    },
  });
}

/** Team channels; a disabled one had its webhook deleted (404/410) and gets nothing until added again. */
function channelMetrics(store: MetricsStore, registers: Registry[]): void {
  new Gauge({
    name: 'paperboy_channels',
    help: 'Team channels (Slack, Discord, JSON webhooks) by state: enabled, or disabled because the webhook is gone.',
    labelNames: ['state'],
    registers,
    collect() {
      for (const [state, n] of byKey(CHANNEL_STATES, store.channelsByState(), 'state')) this.set({ state }, n);
    },
  });
}
