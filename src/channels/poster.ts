import type { Clock } from '../clock.ts';
import { retryDelayMs } from '../retry.ts';

/** How one webhook post ended, after its retries. */
export type PostOutcome =
  | { result: 'posted'; status: number; attempts: number }
  /** 404 or 410: the webhook was deleted; posting again cannot help. */
  | { result: 'gone'; status: number; attempts: number }
  | { result: 'failed'; error: string; attempts: number };

export interface PosterDeps {
  fetch: typeof fetch;
  clock: Clock;
  /** Waits between tries (passed in so tests need not wait). */
  sleep(ms: number): Promise<void>;
}

export interface PostPolicy {
  /** Tries in all, the first included. */
  maxAttempts: number;
  retryBaseMs: number;
  /** One request's time limit. */
  timeoutMs: number;
  /** A Retry-After longer than this is not waited for: the post fails now and is tried at the next send. */
  maxWaitMs: number;
}

const DEFAULT_POST_POLICY: PostPolicy = {
  maxAttempts: 4,
  retryBaseMs: 2_000,
  timeoutMs: 10_000,
  maxWaitMs: 5 * 60_000,
};

/** The wait an answer asks for: Retry-After in seconds or as an HTTP date; undefined when it says nothing usable. */
export function retryAfterMs(header: string | null, now: Date): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** Worth another try: throttled (429) or a server error; a network error or a timeout too. */
const retriable = (status: number) => status === 429 || status >= 500;

/**
 * POSTs `body` as JSON to a webhook. 429 and 5xx answers, time-outs and network errors are tried
 * again up to `maxAttempts`, after the answer's Retry-After or else the backoff; 404 and 410 say
 * the webhook is gone; any other answer fails at once (the request itself is wrong: trying it
 * again would only repeat the answer).
 */
export async function postWebhook(
  deps: PosterDeps,
  url: string,
  body: object,
  policy: PostPolicy = DEFAULT_POST_POLICY,
): Promise<PostOutcome> {
  const payload = JSON.stringify(body);
  for (let attempt = 1; ; attempt++) {
    const answer = await send(deps, url, payload, policy.timeoutMs);
    if ('status' in answer && answer.status < 300)
      return { result: 'posted', status: answer.status, attempts: attempt };
    if ('status' in answer && (answer.status === 404 || answer.status === 410))
      return { result: 'gone', status: answer.status, attempts: attempt };
    const error = 'status' in answer ? `HTTP ${answer.status}` : answer.error;
    if ('status' in answer && !retriable(answer.status)) return { result: 'failed', error, attempts: attempt };
    if (attempt >= policy.maxAttempts)
      return { result: 'failed', error: `${error}, ${attempt} attempts`, attempts: attempt };
    const asked = 'status' in answer ? retryAfterMs(answer.retryAfter, deps.clock.now()) : undefined;
    if (asked !== undefined && asked > policy.maxWaitMs)
      return { result: 'failed', error: `${error}, Retry-After ${Math.round(asked / 1000)} s`, attempts: attempt };
    await deps.sleep(asked ?? retryDelayMs(attempt, policy.retryBaseMs, policy.maxWaitMs));
  }
}

type Answer = { status: number; retryAfter: string | null } | { error: string };

async function send(deps: PosterDeps, url: string, payload: string, timeoutMs: number): Promise<Answer> {
  try {
    const res = await deps.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload,
      // A webhook that moved answers 3xx: a failure to look at, not a place to send the edition blindly.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The body is not needed; reading it frees the connection.
    await res.arrayBuffer().catch(() => undefined);
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    if (e.name === 'TimeoutError') return { error: `no answer in ${timeoutMs / 1000} s` };
    // fetch's own message is "fetch failed"; the reason is in its cause. A message may quote the URL.
    return { error: e.cause?.code ?? e.message.split(url).join(maskUrl(url)) };
  }
}

/** A webhook URL as logs and listings show it: scheme, host and the first characters of the path. */
export function maskUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname.slice(0, 10)}…`;
  } catch {
    return '(not a URL)';
  }
}
