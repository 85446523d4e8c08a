import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/test-app.ts';
import { fixturePapers } from '../support/fixture-papers.ts';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('a path parameter longer than Fastify allows (414)', () => {
  const token = 'x'.repeat(400) + 'ECHOED';

  it('when a page is asked for, then the app answers it: security headers, a friendly page, no echo of the path', async () => {
    t = await createTestApp();
    const res = await t.app.inject({ method: 'GET', url: `/confirm/${token}`, headers: { accept: 'text/html' } });
    expect(res.statusCode).toBe(414);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toContain('too long');
    expect(res.body).not.toContain('ECHOED');
  });

  it("when JSON is asked for, then the JSON answer is the app's own and does not echo the path", async () => {
    t = await createTestApp();
    const res = await t.app.inject({
      method: 'POST',
      url: `/unsubscribe/${token}`,
      headers: { accept: 'application/json' },
    });
    expect(res.statusCode).toBe(414);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.json()).toEqual({ error: 'request_error', message: expect.stringContaining('too long') });
    expect(res.body).not.toContain('ECHOED');
  });
});

describe('a path Fastify cannot decode (400)', () => {
  it('when a link carries broken percent-encoding, then the app answers it with its headers and no echo', async () => {
    t = await createTestApp();
    const res = await t.app.inject({ method: 'GET', url: '/confirm/ECHOED%E0%A4%A', headers: { accept: 'text/html' } });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.body).toContain('could not be read');
    expect(res.body).not.toContain('ECHOED');
  });
});

describe('security headers', () => {
  it('when any page is served, then the same headers come from one place, and the digest page keeps its stricter policy', async () => {
    t = await createTestApp();
    for (const url of ['/', '/no-such-page', '/healthz', '/digests']) {
      const res = await t.app.inject(url);
      expect(res.headers['content-security-policy'], url).toContain("frame-ancestors 'none'");
      expect(res.headers['x-frame-options'], url).toBe('DENY');
      expect(res.headers['referrer-policy'], url).toBe('no-referrer');
    }
    t.ctx.digests.save('2026-11-24', fixturePapers('2026-11-24'));
    const digest = await t.app.inject('/digests/2026-11-24');
    expect(digest.statusCode).toBe(200);
    expect(digest.headers['x-frame-options']).toBe('DENY');
    expect(digest.headers['content-security-policy']).toContain("form-action 'none'");
    expect(digest.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
  });
});

describe('TRUST_PROXY and the per-IP sign-up limit', () => {
  const signUp = (app: TestApp['app'], i: number, xff: string, remoteAddress = '10.0.0.2') =>
    app.inject({
      method: 'POST',
      url: '/subscribe',
      remoteAddress,
      headers: { ...FORM, 'x-forwarded-for': xff },
      payload: `email=p${i}%40example.org`,
    });

  it('when TRUST_PROXY=true (one hop) and a client writes its own X-Forwarded-For, then the limit keys on the address the proxy saw', async () => {
    t = await createTestApp({ TRUST_PROXY: 'true', SUBSCRIBE_RATE_PER_IP: '2' });
    const codes = [];
    // The proxy appends the address it saw (203.0.113.7); what the client wrote comes before it.
    for (let i = 0; i < 3; i++) codes.push((await signUp(t.app, i, `198.51.100.${i}, 203.0.113.7`)).statusCode);
    expect(codes).toEqual([202, 202, 429]);
  });

  it('when TRUST_PROXY is a hop count of 2, then the address two proxies back is the client', async () => {
    t = await createTestApp({ TRUST_PROXY: '2', SUBSCRIBE_RATE_PER_IP: '1' });
    expect((await signUp(t.app, 0, '198.51.100.1, 203.0.113.7, 10.0.0.9')).statusCode).toBe(202);
    expect((await signUp(t.app, 1, '198.51.100.2, 203.0.113.7, 10.0.0.9')).statusCode).toBe(429);
    expect((await signUp(t.app, 2, '198.51.100.1, 203.0.113.8, 10.0.0.9')).statusCode).toBe(202);
  });

  it('when TRUST_PROXY lists the proxies, then only they are skipped, and a request from elsewhere is keyed on its own address', async () => {
    t = await createTestApp({ TRUST_PROXY: '10.0.0.0/8, 192.0.2.1', SUBSCRIBE_RATE_PER_IP: '1' });
    expect((await signUp(t.app, 0, '198.51.100.1, 203.0.113.7, 192.0.2.1')).statusCode).toBe(202);
    expect((await signUp(t.app, 1, '198.51.100.2, 203.0.113.7, 192.0.2.1')).statusCode).toBe(429);
    // Not from a listed proxy: its X-Forwarded-For is the client's own writing, ignored.
    expect((await signUp(t.app, 2, '203.0.113.99', '198.51.100.50')).statusCode).toBe(202);
    expect((await signUp(t.app, 3, '203.0.113.100', '198.51.100.50')).statusCode).toBe(429);
  });

  it('when TRUST_PROXY is false, then X-Forwarded-For is ignored', async () => {
    t = await createTestApp({ TRUST_PROXY: 'false', SUBSCRIBE_RATE_PER_IP: '1' });
    expect((await signUp(t.app, 0, '198.51.100.1')).statusCode).toBe(202);
    expect((await signUp(t.app, 1, '198.51.100.2')).statusCode).toBe(429);
  });
});
