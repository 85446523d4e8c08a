import { describe, expect, it } from 'vitest';
import { appInChromium, ARTIFACTS } from '../support/browser.ts';

const ui = appInChromium();

describe('the subscribe page in headless Chromium', () => {
  it.each([
    ['phone', 375, 812],
    ['desktop', 1280, 900],
  ])(
    'when a person on a %s fills in the form and submits, then they see the check-your-inbox page',
    async (name, width, height) => {
      const page = await ui.browser.newPage({ viewport: { width, height } });
      await page.goto(ui.base + '/');
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
      await Promise.all([page.waitForURL(ui.base + '/subscribe'), page.click('button[type=submit]')]);
      expect(await page.textContent('h1')).toBe('Check your inbox');
      await page.screenshot({ path: `${ARTIFACTS}/subscribe-${name}-${width}-sent.png`, fullPage: true });
      await page.close();

      const row = ui.t.ctx.db
        .prepare('SELECT status, digest_size, keywords FROM subscribers WHERE email = ?')
        .get(email);
      expect(row).toEqual({ status: 'pending', digest_size: 20, keywords: 'diffusion,agents' });
    },
  );

  it('when the address is mistyped, then the page comes back with the message next to the field and the input kept', async () => {
    const page = await ui.browser.newPage({ viewport: { width: 375, height: 812 } });
    await page.goto(ui.base + '/');
    await page.fill('#email', 'ada-at-example.org');
    const [response] = await Promise.all([
      page.waitForResponse(ui.base + '/subscribe'),
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
