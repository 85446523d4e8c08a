import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';
import { renderQueuedMail } from '../../src/mail/mail-queue.ts';

const ARTIFACTS = 'test-artifacts';
let t: TestApp;
let browser: Browser;
let base: string;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

/** The path of the link in the address's confirmation email, as the worker would render it. */
function confirmPath(email: string): string {
  const row = t.ctx.db
    .prepare("SELECT kind, payload FROM mail_queue WHERE recipient = ? AND kind = 'confirm' ORDER BY id DESC")
    .get(email) as { kind: string; payload: string };
  const mail = renderQueuedMail(t.templates, { kind: row.kind, payload: JSON.parse(row.payload) });
  return new URL(/https:\/\/papers\.example\.org\/confirm\/[\w-]+/.exec(mail.text)![0]).pathname;
}

describe('the confirmation page in headless Chromium', () => {
  it('when a person opens the link, then only the button (a POST under the page’s CSP, no script) confirms', async () => {
    const email = 'ada@example.org';
    await t.app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email }),
    });
    const page = await browser.newPage({ viewport: { width: 375, height: 812 } });
    page.setDefaultTimeout(10_000);
    const cspViolations: string[] = [];
    page.on('console', (m) => m.text().includes('Content Security Policy') && cspViolations.push(m.text()));

    await page.goto(base + confirmPath(email));
    expect(await page.textContent('h1')).toBe('Confirm your subscription');
    expect(await page.evaluate(() => document.scripts.length)).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}/confirm-prompt-phone.png`, fullPage: true });
    await page.reload();
    expect(t.ctx.subscribers.byEmail(email)?.status).toBe('pending');

    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Confirm my subscription' }).click(),
    ]);
    expect(response.status()).toBe(200);
    await page.waitForLoadState();
    expect(await page.textContent('h1')).toBe('You’re subscribed');
    expect(t.ctx.subscribers.byEmail(email)?.status).toBe('confirmed');
    expect(cspViolations).toEqual([]);
    await page.screenshot({ path: `${ARTIFACTS}/confirm-done-phone.png`, fullPage: true });
    await page.close();
  });
});
