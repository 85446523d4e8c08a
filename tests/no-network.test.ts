import { execFile } from 'node:child_process';
import dns, { lookup } from 'node:dns/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkBlockedError, takeBlockedAttempts } from './support/no-network.ts';
import { projectNode, repoRoot } from './support/server-process.ts';

const GUARD = /no-network guard: tests may not reach/;
// An address, not a name: the connection itself must be refused, not only a DNS lookup.
const PUBLIC = 'http://93.184.216.34/';

let server: Server;
let local: string;
beforeAll(async () => {
  server = createServer((_req, res) => res.end('local'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  local = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail('the request went through'),
    (err: unknown) => err as Error & { cause?: Error },
  );

describe('the no-network guard every test file runs under', () => {
  it('when a test fetches a public address, then the connection fails with the guard error', async () => {
    const err = await failure(fetch(PUBLIC));
    expect(err.cause).toBeInstanceOf(NetworkBlockedError);
    expect(err.cause!.message).toMatch(GUARD);
    expect(takeBlockedAttempts()).toEqual(['93.184.216.34:80']);
  });

  it('when http.request goes to a public host name, then it fails before any DNS query', async () => {
    const err = await failure(
      new Promise((resolve, reject) => request('http://example.com/', resolve).on('error', reject).end()),
    );
    expect(err.message).toMatch(GUARD);
    expect(takeBlockedAttempts()).toEqual(['example.com:80']);
  });

  it('when a test looks a name up or queries records, then DNS fails with the guard error', async () => {
    await expect(lookup('example.com')).rejects.toThrow(GUARD);
    const resolver = new dns.Resolver();
    resolver.setServers(['192.0.2.53']);
    await expect(resolver.resolveTxt('example.com')).rejects.toThrow(GUARD);
    expect(takeBlockedAttempts()).toEqual(['DNS example.com', 'DNS resolveTxt example.com']);
  });

  it('when a test talks to 127.0.0.1 or localhost, then it goes through', async () => {
    expect(await (await fetch(local)).text()).toBe('local');
    expect(await (await fetch(local.replace('127.0.0.1', 'localhost'))).text()).toBe('local');
    expect((await lookup('localhost')).address).toMatch(/^(127\.|::1$)/);
    expect(takeBlockedAttempts()).toEqual([]);
  });

  it('when the project runs in a process the tests start, then the guard runs there too', async () => {
    const script = `fetch(${JSON.stringify(PUBLIC)}).then(() => console.log('reached'), (e) => console.log(e.cause?.message))`;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [...projectNode, '-e', script], { cwd: repoRoot, timeout: 30_000 }, (err, out) =>
        err ? reject(err) : resolve(out),
      ),
    );
    expect(stdout).toMatch(GUARD);
  });
});
