import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';

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

describe('the subscribe page in headless Chromium', () => {
  it.each([
    ['phone', 375, 812],
    ['desktop', 1280, 900],
  ])(
    'when a person on a %s fills in the form and submits, then they see the check-your-inbox page',
    async (name, width, height) => {
      const page = await browser.newPage({ viewport: { width, height } });
      await page.goto(base + '/');
      await page.screenshot({ path: `${ARTIFACTS}/subscribe-${name}-${width}.png`, fullPage: true });
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      // The honeypot is in the form but off-screen, out of a person's sight.
      expect(await page.evaluate(() => document.querySelector('#website')!.getBoundingClientRect().right <= 0)).toBe(
        true,
      );

      const email = `${name}@example.org`;
      await page.fill('#email', email);
      await page.selectOption('#digest_size', '20');
      await page.fill('#keywords', 'Diffusion, agents');
      await Promise.all([page.waitForURL(base + '/subscribe'), page.click('button[type=submit]')]);
      expect(await page.textContent('h1')).toBe('Check your inbox');
      await page.screenshot({ path: `${ARTIFACTS}/subscribe-${name}-${width}-sent.png`, fullPage: true });
      await page.close();

      const row = t.ctx.db.prepare('SELECT status, digest_size, keywords FROM subscribers WHERE email = ?').get(email);
      expect(row).toEqual({ status: 'pending', digest_size: 20, keywords: 'diffusion,agents' });
    },
  );

  it('when the address is mistyped, then the page comes back with the message next to the field and the input kept', async () => {
    const page = await browser.newPage({ viewport: { width: 375, height: 812 } });
    await page.goto(base + '/');
    await page.fill('#email', 'ada-at-example.org');
    const [response] = await Promise.all([
      page.waitForResponse(base + '/subscribe'),
      page.click('button[type=submit]'),
    ]);
    expect(response.status()).toBe(400);
    expect(await page.textContent('[role=alert]')).toContain('does not look like an email address');
    expect(await page.inputValue('#email')).toBe('ada-at-example.org');
    expect(await page.getAttribute('#email', 'aria-invalid')).toBe('true');
    await page.screenshot({ path: `${ARTIFACTS}/subscribe-phone-error.png`, fullPage: true });
    await page.close();
  });
});
