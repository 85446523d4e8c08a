import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';

let t: TestApp;
let browser: Browser;
let base: string;

beforeAll(async () => {
  t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0', DIGEST_SIZE: '20' });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('the subscribe form with DIGEST_SIZE=20, in headless Chromium', () => {
  it('when a person leaves "Papers per email" alone, then it shows DIGEST_SIZE and the sign-up gets it; the options are 5, 10 and 20', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(base + '/');
    expect(await page.inputValue('#digest_size')).toBe('20');
    expect(
      await page.locator('#digest_size option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)),
    ).toEqual(['5', '10', '20']);
    await page.fill('#email', 'ada@example.org');
    await Promise.all([page.waitForURL(base + '/subscribe'), page.click('button[type=submit]')]);
    expect(await page.textContent('h1')).toBe('Check your inbox');

    // A mistyped address brings the form back with the size the person had chosen, not the default.
    await page.goto(base + '/');
    await page.selectOption('#digest_size', '5');
    await page.fill('#email', 'bob-at-example.org');
    await Promise.all([page.waitForResponse(base + '/subscribe'), page.click('button[type=submit]')]);
    expect(await page.inputValue('#digest_size')).toBe('5');
    await page.close();
    expect(t.ctx.subscribers.byEmail('ada@example.org')?.digestSize).toBe(20);
  });
});
