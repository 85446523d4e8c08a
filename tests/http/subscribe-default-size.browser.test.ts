import { describe, expect, it } from 'vitest';
import { appInChromium } from '../support/browser.ts';

const ui = appInChromium({ DIGEST_SIZE: '20' });

describe('the subscribe form with DIGEST_SIZE=20, in headless Chromium', () => {
  it('when a person leaves "Papers per email" alone, then it shows DIGEST_SIZE and the sign-up gets it; the options are 5, 10 and 20', async () => {
    const page = await ui.browser.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(ui.base + '/');
    expect(await page.inputValue('#digest_size')).toBe('20');
    expect(
      await page.locator('#digest_size option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)),
    ).toEqual(['5', '10', '20']);
    await page.fill('#email', 'ada@example.org');
    await Promise.all([page.waitForURL(ui.base + '/subscribe'), page.click('button[type=submit]')]);
    expect(await page.textContent('h1')).toBe('Check your inbox');

    // A mistyped address brings the form back with the size the person had chosen, not the default.
    await page.goto(ui.base + '/');
    await page.selectOption('#digest_size', '5');
    await page.fill('#email', 'bob-at-example.org');
    await Promise.all([page.waitForResponse(ui.base + '/subscribe'), page.click('button[type=submit]')]);
    expect(await page.inputValue('#digest_size')).toBe('5');
    await page.close();
    expect(ui.t.ctx.subscribers.byEmail('ada@example.org')?.digestSize).toBe(20);
  });
});
