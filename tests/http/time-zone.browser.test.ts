import { describe, expect, it } from 'vitest';
import { appInChromium, ARTIFACTS } from '../support/browser.ts';
import { subscriberLinks } from '../../src/domain/tokens.ts';

const ui = appInChromium();

describe('the time zone field, in headless Chromium', () => {
  it('when the browser is in Asia/Kolkata, then the page’s script selects that zone under its current name, with no CSP complaint', async () => {
    const context = await ui.browser.newContext({ timezoneId: 'Asia/Kolkata' });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const cspViolations: string[] = [];
    page.on('console', (m) => m.text().includes('Content Security Policy') && cspViolations.push(m.text()));
    await page.goto(`${ui.base}/`);
    // Chromium itself names the zone by its old CLDR id.
    expect(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)).toBe('Asia/Calcutta');
    expect(await page.inputValue('#timezone')).toBe('Asia/Kolkata');
    expect(await page.inputValue('#delivery_hour')).toBe('');
    await page.fill('#email', 'kolkata@example.org');
    await page.selectOption('#delivery_hour', '6');
    await page.screenshot({ path: `${ARTIFACTS}/subscribe-time-zone.png`, fullPage: true });
    await Promise.all([page.waitForURL(`${ui.base}/subscribe`), page.click('button[type=submit]')]);
    expect(await page.textContent('h1')).toBe('Check your inbox');
    expect(cspViolations).toEqual([]);
    await context.close();
    expect(ui.t.ctx.subscribers.byEmail('kolkata@example.org')).toMatchObject({
      timezone: 'Asia/Kolkata',
      deliveryHour: 6,
    });
  });

  it('when the reader has a zone saved, then the preferences page shows it and the script leaves it alone', async () => {
    ui.t.ctx.subscribers.insertPending({
      email: 'tokyo@example.org',
      digestSize: 10,
      keywords: '',
      cadence: 'daily',
      timezone: 'Asia/Tokyo',
      deliveryHour: 9,
      now: new Date().toISOString(),
    });
    const id = ui.t.ctx.subscribers.byEmail('tokyo@example.org')!.id;
    const context = await ui.browser.newContext({ timezoneId: 'Europe/Berlin' });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(
      ui.base + new URL(subscriberLinks(ui.t.ctx.config.PUBLIC_URL, ui.t.ctx.secret, id).preferencesUrl).pathname,
    );
    expect(await page.inputValue('#timezone')).toBe('Asia/Tokyo');
    expect(await page.inputValue('#delivery_hour')).toBe('9');
    await context.close();
  });

  it('when script is off, then the zone stays on the default until chosen, and a chosen zone is stored', async () => {
    const context = await ui.browser.newContext({ javaScriptEnabled: false, timezoneId: 'Asia/Kolkata' });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${ui.base}/`);
    expect(await page.inputValue('#timezone')).toBe('');
    await page.fill('#email', 'noscript@example.org');
    await page.selectOption('#timezone', 'America/Sao_Paulo');
    await page.selectOption('#delivery_hour', '11');
    await Promise.all([page.waitForURL(`${ui.base}/subscribe`), page.click('button[type=submit]')]);
    expect(await page.textContent('h1')).toBe('Check your inbox');
    await context.close();
    expect(ui.t.ctx.subscribers.byEmail('noscript@example.org')).toMatchObject({
      timezone: 'America/Sao_Paulo',
      deliveryHour: 11,
    });
  });
});
