import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/test-app.ts';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' });
});
afterEach(async () => t.close());

describe("validation by the routes' own schemas", () => {
  it("when a JSON client's query fails the route's schema, then 400 with the schema's sentence, not Fastify's text", async () => {
    const res = await t.app.inject({ url: '/digests.atom?size=7', headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'request_error', message: 'Number of papers must be 5, 10 or 20.' });
  });

  it('when a page asks with a bad query, then the 400 page says the same sentence', async () => {
    const res = await t.app.inject('/digests.atom?keywords=%3Cscript%3E');
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('Keywords are words of letters and digits');
    expect(res.body).not.toContain('querystring');
  });

  it('when the preferences form posts a bad hour through a forged link, then the link answers first: 404', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/preferences/1.forged',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'delivery_hour=99',
    });
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('This link is not valid');
  });

  it('when the subscribe form posts no body at all, then the form comes back asking for the address', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/subscribe' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Please enter your email address.');
  });
});
