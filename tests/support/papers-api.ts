import { createServer, type IncomingHttpHeaders } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fixturesDir } from './fixtures-dir.ts';

export const fixturePath = (name: string) => `${fixturesDir}${name}`;

export function readFixture(name: string): unknown {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8'));
}

/** What the next request gets instead of the fixtures; one reply is used per request. */
type ScriptedReply =
  | { status: number; body?: string; headers?: Record<string, string> }
  | { json: unknown }
  /** Accept the request and never answer: the client's timeout must fire. */
  | 'hang'
  /** Answer from the fixtures as if nothing were scripted (to fail a later page, not the first). */
  | 'fixture';

interface ReceivedRequest {
  date: string | null;
  p: string | null;
  limit: string | null;
  headers: IncomingHttpHeaders;
}

/** A stand-in for https://huggingface.co/api/daily_papers on 127.0.0.1. */
export interface PapersApi {
  /** Base URL to configure as PAPERS_API_URL. */
  url: string;
  requests: ReceivedRequest[];
  /** Queue replies for the next requests; when the queue is empty the fixtures are served. */
  script(...replies: ScriptedReply[]): void;
  close(): Promise<void>;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const weekends = readFixture('weekend-empty.json') as Record<string, unknown[]>;

/**
 * Serves `?date=&p=&limit=` like the real API: the recorded `DATE.limitN.pK.json` page when it
 * exists, otherwise a slice of the whole-day file; `[]` past the end and for days without papers;
 * 400 for a malformed date or limit (the real API caps limit at 100).
 */
function fixtureReply(date: string | null, p: number, limit: number): { status: number; body: string } {
  if (
    date === null ||
    !DATE.test(date) ||
    !Number.isInteger(p) ||
    p < 0 ||
    !Number.isInteger(limit) ||
    limit < 1 ||
    limit > 100
  ) {
    return { status: 400, body: JSON.stringify({ error: 'Invalid query' }) };
  }
  const page = fixturePath(`${date}.limit${limit}.p${p}.json`);
  if (existsSync(page)) return { status: 200, body: readFileSync(page, 'utf8') };
  const day = fixturePath(`${date}.json`);
  const all = existsSync(day) ? (JSON.parse(readFileSync(day, 'utf8')) as unknown[]) : (weekends[date] ?? []);
  return { status: 200, body: JSON.stringify(all.slice(p * limit, (p + 1) * limit)) };
}

export async function startPapersApi(): Promise<PapersApi> {
  const queue: ScriptedReply[] = [];
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
    requests.push({ date: q.get('date'), p: q.get('p'), limit: q.get('limit'), headers: req.headers });
    const reply = queue.shift() ?? 'fixture';
    if (reply === 'hang') return;
    if (reply === 'fixture') {
      const { status, body } = fixtureReply(q.get('date'), Number(q.get('p') ?? 0), Number(q.get('limit') ?? 50));
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    } else if ('json' in reply) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply.json));
    } else {
      res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers }).end(reply.body ?? '');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/daily_papers`,
    requests,
    script: (...replies) => queue.push(...replies),
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Hung requests would keep close() waiting forever.
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
