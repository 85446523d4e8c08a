import { describe, expect, it } from 'vitest';
import { appInChromium, ARTIFACTS } from '../support/browser.ts';
import { subscriberLinks } from '../../src/domain/tokens.ts';
import { renderQueuedMail } from '../../src/mail/mail-queue.ts';

const ui = appInChromium();

const cadenceOf = (email: string) =>
  ui.t.ctx.db.prepare('SELECT cadence FROM subscribers WHERE email = ?').pluck().get(email);

describe('daily or weekly, in headless Chromium', () => {
  it('when a person picks “once a week” on the form, then they are signed up weekly, and the preferences page shows and changes it', async () => {
    const page = await ui.browser.newPage({ viewport: { width: 375, height: 812 } });
    page.setDefaultTimeout(10_000);
    await page.goto(`${ui.base}/`);
    // Daily is the default; the field is labelled.
    expect(await page.locator('#cadence').inputValue()).toBe('daily');
    expect(await page.getByLabel('How often').count()).toBe(1);
    await page.fill('#email', 'weekly@example.org');
    await page.selectOption('#cadence', 'weekly');
    await page.screenshot({ path: `${ARTIFACTS}/subscribe-cadence-phone.png`, fullPage: true });
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Subscribe' }).click(),
    ]);
    await page.waitForLoadState();
    expect(await page.locator('h1').textContent()).toBe('Check your inbox');
    expect(cadenceOf('weekly@example.org')).toBe('weekly');

    const { kind, payload } = ui.t.ctx.db
      .prepare("SELECT kind, payload FROM mail_queue WHERE recipient = 'weekly@example.org'")
      .get() as { kind: string; payload: string };
    const confirmPath = /https:\/\/papers\.example\.org(\/confirm\/[\w-]+)/.exec(
      renderQueuedMail(ui.t.templates, { kind, payload: JSON.parse(payload) }).text,
    )![1]!;
    await ui.t.app.inject({ method: 'POST', url: confirmPath });
    const id = ui.t.ctx.subscribers.byEmail('weekly@example.org')!.id;
    await page.goto(
      ui.base + new URL(subscriberLinks(ui.t.ctx.config.PUBLIC_URL, ui.t.ctx.secret, id).preferencesUrl).pathname,
    );
    expect(await page.locator('#cadence').inputValue()).toBe('weekly');
    await page.selectOption('#cadence', 'daily');
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Save' }).click(),
    ]);
    await page.waitForLoadState();
    expect(await page.locator('[role=status]').textContent()).toContain('Saved');
    expect(await page.locator('#cadence').inputValue()).toBe('daily');
    expect(cadenceOf('weekly@example.org')).toBe('daily');
    await page.screenshot({ path: `${ARTIFACTS}/preferences-cadence-phone.png`, fullPage: true });
    await page.close();
  });
});
