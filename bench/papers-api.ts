import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { syntheticDay } from './fixtures.ts';

/**
 * A local stand-in for GET /api/daily_papers on 127.0.0.1: the product refreshes the day's papers
 * before a send, and the bench must never reach the internet. Pages like the real API (p, limit).
 */
export interface PapersApi {
  url: string;
  requests: number;
  close(): Promise<void>;
}

export async function startPapersApi(papersPerDay: number): Promise<PapersApi> {
  const days = new Map<string, unknown[]>();
  const api: PapersApi = { url: '', requests: 0, close: () => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    api.requests++;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const date = url.searchParams.get('date') ?? '';
    if (url.pathname !== '/api/daily_papers' || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad request"}');
      return;
    }
    let day = days.get(date);
    if (!day) days.set(date, (day = syntheticDay(date, papersPerDay)));
    const limit = Math.min(100, Number(url.searchParams.get('limit') ?? 50) || 50);
    const page = Number(url.searchParams.get('p') ?? 0) || 0;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(day.slice(page * limit, (page + 1) * limit)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/daily_papers`;
  api.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return api;
}
