import { describe, expect, it } from 'vitest';
import { appInChromium, ARTIFACTS } from '../support/browser.ts';
import { subscriberLinks } from '../../src/domain/tokens.ts';
import { fixturePapers } from '../support/fixture-papers.ts';
import { renderQueuedMail } from '../../src/mail/mail-queue.ts';

const ui = appInChromium({}, (t) => {
  for (const day of ['2026-11-23', '2026-11-24', '2026-11-25']) t.ctx.papers.upsertMany(fixturePapers(day));
});

describe('the preferences page in headless Chromium', () => {
  it('when a subscriber changes their keywords, then the count of recent matches beside the field follows, without script', async () => {
    await ui.t.app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: 'ada@example.org', keywords: 'agent' }),
    });
    const { kind, payload } = ui.t.ctx.db.prepare('SELECT kind, payload FROM mail_queue').get() as {
      kind: string;
      payload: string;
    };
    const confirmPath = /https:\/\/papers\.example\.org(\/confirm\/[\w-]+)/.exec(
      renderQueuedMail(ui.t.templates, { kind, payload: JSON.parse(payload) }).text,
    )![1]!;
    await ui.t.app.inject({ method: 'POST', url: confirmPath });
    const id = ui.t.ctx.subscribers.byEmail('ada@example.org')!.id;
    // Script off: the count comes with the page itself, and with the page each save answers.
    const context = await ui.browser.newContext({ viewport: { width: 375, height: 812 }, javaScriptEnabled: false });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(
      ui.base + new URL(subscriberLinks(ui.t.ctx.config.PUBLIC_URL, ui.t.ctx.secret, id).preferencesUrl).pathname,
    );

    const hint = page.locator('#keywords-preview');
    expect(await hint.textContent()).toBe('These keywords would have matched 4 of the last 3 days’ 42 papers.');
    // Beside the field: right under it, inside the same form, and named as its description.
    const [field, box] = [await page.locator('#keywords').boundingBox(), await hint.boundingBox()];
    expect(box!.y).toBeGreaterThanOrEqual(field!.y + field!.height);
    expect(box!.y - (field!.y + field!.height)).toBeLessThan(40);
    expect(await page.getAttribute('#keywords', 'aria-describedby')).toBe('keywords-preview');
    await page.screenshot({ path: `${ARTIFACTS}/preferences-preview-phone.png`, fullPage: true });

    await page.fill('#keywords', 'Reward Models, diffusion policy');
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Save' }).click(),
    ]);
    await page.waitForLoadState();
    expect(await page.locator('[role=status]').textContent()).toContain('Saved');
    expect(await hint.textContent()).toBe('These keywords would have matched 5 of the last 3 days’ 42 papers.');
    await context.close();
  });
});
