import { describe, expect, it } from 'vitest';
import { appInChromium, ARTIFACTS } from '../support/browser.ts';
import { renderQueuedMail } from '../../src/mail/mail-queue.ts';

const ui = appInChromium();

/** The path of the link in the address's confirmation email, as the worker would render it. */
function confirmPath(email: string): string {
  const row = ui.t.ctx.db
    .prepare("SELECT kind, payload FROM mail_queue WHERE recipient = ? AND kind = 'confirm' ORDER BY id DESC")
    .get(email) as { kind: string; payload: string };
  const mail = renderQueuedMail(ui.t.templates, { kind: row.kind, payload: JSON.parse(row.payload) });
  return new URL(/https:\/\/papers\.example\.org\/confirm\/[\w-]+/.exec(mail.text)![0]).pathname;
}

describe('the confirmation page in headless Chromium', () => {
  it('when a person opens the link, then only the button (a POST under the page’s CSP, no script) confirms', async () => {
    const email = 'ada@example.org';
    await ui.t.app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email }),
    });
    const page = await ui.browser.newPage({ viewport: { width: 375, height: 812 } });
    page.setDefaultTimeout(10_000);
    const cspViolations: string[] = [];
    page.on('console', (m) => m.text().includes('Content Security Policy') && cspViolations.push(m.text()));

    await page.goto(ui.base + confirmPath(email));
    expect(await page.textContent('h1')).toBe('Confirm your subscription');
    expect(await page.evaluate(() => document.scripts.length)).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}/confirm-prompt-phone.png`, fullPage: true });
    await page.reload();
    expect(ui.t.ctx.subscribers.byEmail(email)?.status).toBe('pending');

    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Confirm my subscription' }).click(),
    ]);
    expect(response.status()).toBe(200);
    await page.waitForLoadState();
    expect(await page.textContent('h1')).toBe('You’re subscribed');
    expect(ui.t.ctx.subscribers.byEmail(email)?.status).toBe('confirmed');
    expect(cspViolations).toEqual([]);
    await page.screenshot({ path: `${ARTIFACTS}/confirm-done-phone.png`, fullPage: true });
    await page.close();
  });
});
