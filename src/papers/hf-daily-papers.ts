import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import pkg from '../../package.json' with { type: 'json' };
import { systemClock, type Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Paper } from '../model/paper.ts';
import type { DailyPapers, PaperSource, SkippedItem } from '../domain/ingest.ts';

/**
 * Client for the Hugging Face Daily Papers API (GET /api/daily_papers?date=YYYY-MM-DD&p=&limit=).
 * The format and its quirks are described in tests/fixtures/hf-daily-papers/README.md.
 */

/** The API (or a saved response) could not give a usable list: `where` is the URL or file. */
export class PaperSourceError extends Error {
  override name = 'PaperSourceError';
  constructor(
    message: string,
    readonly where: string,
    readonly detail: { status?: number; attempts?: number } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface PaperSourceOptions {
  baseUrl: string;
  logger: Logger;
  fetch?: typeof globalThis.fetch;
  /** Per request, covering headers and body. */
  timeoutMs?: number;
  /** Retries after the first attempt, on network errors, timeouts, 5xx and 429. */
  retries?: number;
  /** First backoff; it doubles on each retry. */
  retryDelayMs?: number;
  /** Upper bound for a backoff or a server's Retry-After, so one answer cannot stall the job for hours. */
  maxRetryDelayMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
  clock?: Clock;
  pageSize?: number;
}

// The API caps `limit` at 100: asking for more would make a full page look short and end paging early.
const MAX_PAGE_SIZE = 100;
// ~50 papers a day is normal; this many means the API is ignoring `p` and paging would never end.
const MAX_ITEMS_PER_DAY = 5_000;

const USER_AGENT = `Paperboy/${pkg.version} (+self-hosted trending-papers digest)`;

export function createPaperSource(options: PaperSourceOptions): PaperSource {
  const pageSize = options.pageSize ?? MAX_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new RangeError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
  }
  const http: HttpSettings = {
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs ?? 10_000,
    retries: options.retries ?? 4,
    retryDelayMs: options.retryDelayMs ?? 1_000,
    maxRetryDelayMs: options.maxRetryDelayMs ?? 60_000,
    sleep: options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal })),
    clock: options.clock ?? systemClock,
    logger: options.logger,
  };
  return {
    async fetchDay(date, stop) {
      // Every page is fetched before anything is returned: a failure on page 3 fails the day
      // instead of storing a half list that would look like a quiet day.
      const byId = new Map<string, Paper>();
      const skipped: SkippedItem[] = [];
      for (let page = 0; ; page++) {
        if (page * pageSize >= MAX_ITEMS_PER_DAY) {
          throw new PaperSourceError(
            `more than ${MAX_ITEMS_PER_DAY} papers for ${date}: is the API ignoring "p"?`,
            options.baseUrl,
          );
        }
        const url = new URL(options.baseUrl);
        url.searchParams.set('date', date);
        url.searchParams.set('p', String(page));
        url.searchParams.set('limit', String(pageSize));
        const where = url.toString();
        const parsed = parseDailyPapersJson(await getText(http, where, stop), {
          where,
          featuredDate: date,
          logger: options.logger,
        });
        // The list can shift between page requests; keep one entry per paper, the latest seen.
        for (const p of parsed.papers) byId.set(p.id, p);
        skipped.push(...parsed.skipped);
        if (parsed.items < pageSize) break;
      }
      return { papers: [...byId.values()], skipped };
    },
    readSaved(file, date) {
      const { papers, skipped } = parseDailyPapersJson(readFileSync(file, 'utf8'), {
        where: file,
        featuredDate: date,
        logger: options.logger,
      });
      return { papers, skipped };
    },
  };
}

/** The options a request uses, defaults filled in. */
interface HttpSettings {
  fetch: typeof globalThis.fetch;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<unknown>;
  clock: Clock;
  logger: Logger;
}

/** Why an attempt failed, when another may do better. */
interface Failure {
  reason: string;
  status?: number;
  retryAfterMs?: number | undefined;
  cause?: unknown;
}

/** One GET with retries; resolves with the body text of a 2xx answer. */
async function getText(http: HttpSettings, url: string, stop?: AbortSignal): Promise<string> {
  const attempts = http.retries + 1;
  for (let attempt = 1; ; attempt++) {
    const answer = await tryGet(http, url, attempt, stop);
    if (typeof answer === 'string') return answer;
    if (attempt === attempts) {
      throw new PaperSourceError(
        `GET ${url} failed after ${attempts} attempts: ${answer.reason}`,
        url,
        { status: answer.status, attempts },
        { cause: answer.cause },
      );
    }
    const delayMs = Math.min(answer.retryAfterMs ?? http.retryDelayMs * 2 ** (attempt - 1), http.maxRetryDelayMs);
    http.logger.warn(
      { url, attempt, of: attempts, reason: answer.reason, delayMs },
      'paper API request failed; retrying',
    );
    await http.sleep(delayMs, stop);
  }
}

/** One attempt: the body of a 2xx answer, or why a retry may help; throws when it cannot. */
async function tryGet(http: HttpSettings, url: string, attempt: number, stop?: AbortSignal): Promise<string | Failure> {
  try {
    stop?.throwIfAborted();
    const timeout = AbortSignal.timeout(http.timeoutMs);
    const res = await http.fetch(url, {
      headers: { 'user-agent': USER_AGENT, accept: 'application/json' },
      signal: stop ? AbortSignal.any([timeout, stop]) : timeout,
    });
    if (res.ok) return await res.text();
    const reason = `HTTP ${res.status} ${res.statusText}`.trim();
    if (res.status !== 429 && res.status < 500) {
      // 4xx other than 429 (e.g. 400 for a bad date) will not change on retry.
      const body = (await res.text().catch(() => '')).slice(0, 200);
      throw new PaperSourceError(`GET ${url} answered ${reason}${body ? `: ${body}` : ''}`, url, {
        status: res.status,
        attempts: attempt,
      });
    }
    await res.body?.cancel();
    return {
      reason,
      status: res.status,
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), http.clock.now().getTime()),
    };
  } catch (err) {
    // Being told to stop (shutdown) is not a network failure: no retry.
    if (err instanceof PaperSourceError || stop?.aborted) throw err;
    return { reason: networkReason(err, http.timeoutMs), cause: err };
  }
}

/** Seconds ("120") or an HTTP date; undefined when absent or unreadable (backoff applies then). */
function parseRetryAfter(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function networkReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return `timed out after ${timeoutMs} ms`;
  // undici reports "fetch failed" and puts the useful part (ECONNREFUSED, ECONNRESET…) in cause.
  const cause =
    err instanceof Error && err.cause instanceof Error
      ? `: ${(err.cause as NodeJS.ErrnoException).code ?? err.cause.message}`
      : '';
  return `${err instanceof Error ? err.message : String(err)}${cause}`;
}

// ---- The response format, shared by the HTTP client and the offline file import ----

// Optional extras must not cost us a paper: a malformed one becomes "absent" (catch), while what the
// digest cannot do without (id, title, arXiv date) makes the item skipped.
const optionalUrl = z
  .url({ protocol: /^https?$/ })
  .nullish()
  .catch(null);

const itemSchema = z.object({
  paper: z.object({
    id: z.string().trim().min(1),
    title: z.string().trim().min(1),
    summary: z.string().nullish(),
    authors: z.array(z.object({ name: z.string() })).nullish(),
    publishedAt: z.iso.datetime({ offset: true }),
    upvotes: z.number().int().min(0).nullish(),
    ai_summary: z.string().nullish().catch(null),
    ai_keywords: z.array(z.string()).nullish().catch(null),
    githubRepo: optionalUrl,
    projectPage: optionalUrl,
    withdrawnAt: z.string().nullish(),
  }),
  /** When the paper was added to Daily Papers: the featured day when no date was asked for. */
  publishedAt: z.iso.datetime({ offset: true }).optional().catch(undefined),
  numComments: z.number().int().min(0).nullish(),
});

type Item = z.infer<typeof itemSchema>;

const itemId = z.object({ paper: z.object({ id: z.string() }) });

/**
 * Parses one API response body (a page, or a saved file): the JSON must be an array, items that
 * fail validation are skipped and logged with their id, unknown fields are ignored.
 * `featuredDate` is the day the list was asked for; without it (a saved file) each item's
 * top-level `publishedAt` gives the day, in UTC as the API files it.
 */
export function parseDailyPapersJson(
  text: string,
  options: { where: string; featuredDate?: string | undefined; logger: Logger },
): DailyPapers & { items: number } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new PaperSourceError(
      `${options.where}: body is not JSON (${(err as Error).message}): ${snippet(text)}`,
      options.where,
      {},
      { cause: err },
    );
  }
  if (!Array.isArray(body)) {
    throw new PaperSourceError(
      `${options.where}: expected a JSON array of papers, got ${body === null ? 'null' : typeof body}: ${snippet(text)}`,
      options.where,
    );
  }
  const papers: Paper[] = [];
  const skipped: SkippedItem[] = [];
  for (const raw of body) {
    const parsed = itemSchema.safeParse(raw);
    const addedAt = parsed.success ? parsed.data.publishedAt : undefined;
    const featuredDate = options.featuredDate ?? (addedAt && new Date(addedAt).toISOString().slice(0, 10));
    if (parsed.success && featuredDate) {
      papers.push(toPaper(parsed.data, featuredDate));
      continue;
    }
    const id = itemId.safeParse(raw).data?.paper.id ?? null;
    const reason = parsed.success
      ? 'no featured day: the item has no top-level publishedAt and no date was given'
      : parsed.error.issues.map((i) => `${i.path.join('.') || 'item'}: ${i.message}`).join('; ');
    options.logger.warn({ where: options.where, id, reason }, 'paper skipped: invalid item');
    skipped.push({ id, reason });
  }
  return { papers, skipped, items: body.length };
}

// Titles and abstracts arrive hard-wrapped (arXiv line breaks); one line reads right in an email.
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

function toPaper({ paper: p, numComments }: Item, featuredDate: string): Paper {
  return {
    id: p.id,
    title: oneLine(p.title),
    abstract: oneLine(p.summary ?? ''),
    authors: (p.authors ?? []).map((a) => oneLine(a.name)).filter((n) => n !== ''),
    // Normalised to UTC so stored dates compare correctly as text too.
    publishedAt: new Date(p.publishedAt).toISOString(),
    featuredDate,
    upvotes: p.upvotes ?? 0,
    numComments: numComments ?? 0,
    aiSummary: p.ai_summary ?? null,
    keywords: p.ai_keywords ?? [],
    githubRepo: p.githubRepo ?? null,
    projectPage: p.projectPage ?? null,
    withdrawn: p.withdrawnAt != null,
  };
}

function snippet(text: string): string {
  const s = oneLine(text);
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);
}
