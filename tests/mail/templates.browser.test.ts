import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTemplates, personalise, type Rendered } from '../../src/mail/templates.ts';
import { launchChromium } from '../support/browser.ts';
import { twentyPapers } from '../support/fixture-papers.ts';

const artifacts = new URL('../../test-artifacts/', import.meta.url);
const publicUrl = 'https://papers.example.org';
const papers = twentyPapers();

let browser: Browser;
let digest: Rendered;
let confirm: Rendered;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  const templates = await loadTemplates({ publicUrl, postalAddress: 'Paperboy, 1 Example Street, 10115 Berlin' });
  const compiled = await templates.compileDigest({ date: '2026-11-24', papers });
  digest = personalise(compiled, {
    unsubscribeUrl: `${publicUrl}/unsubscribe?t=abc`,
    preferencesUrl: `${publicUrl}/preferences?t=abc`,
  });
  confirm = templates.confirm({ confirmUrl: `${publicUrl}/confirm?t=abc` });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

/** Opens the HTML with every network request refused and counted, as a privacy-minded client would. */
async function open(html: string, width: number, colorScheme: 'light' | 'dark') {
  const page = await browser.newPage({ viewport: { width, height: 900 }, colorScheme });
  const requests: string[] = [];
  await page.route('**/*', (route) => {
    requests.push(route.request().url());
    return route.abort();
  });
  await page.setContent(html, { waitUntil: 'load' });
  return { page, requests };
}

describe('the digest in Chromium', () => {
  for (const width of [375, 800]) {
    for (const scheme of ['light', 'dark'] as const) {
      it(`when opened at ${width} px (${scheme}), then nothing overflows and nothing is fetched`, async () => {
        const { page, requests } = await open(digest.html, width, scheme);
        await page.screenshot({ path: new URL(`digest-${width}-${scheme}.png`, artifacts).pathname, fullPage: true });

        const { scrollWidth, innerWidth } = await page.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth,
        }));
        expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
        expect(requests).toEqual([]);
        await page.close();
      });
    }
  }

  it('when parsed by a browser, then titles are text in rank order and no markup came from the data', async () => {
    const { page } = await open(digest.html, 800, 'light');
    const titles = await page.locator('.title a').allTextContents();
    expect(titles).toEqual(papers.map((p) => p.title));
    expect(await page.locator('body b, body i, body img, body script').count()).toBe(0);
    await page.close();
  });

  it('when the reader prefers dark, then the page and the cards turn dark', async () => {
    const { page } = await open(digest.html, 800, 'dark');
    const colours = await page.evaluate(() => ({
      page: getComputedStyle(document.querySelector('.page > div[role="article"]')!).backgroundColor,
      card: getComputedStyle(document.querySelector('.card td')!).backgroundColor,
      title: getComputedStyle(document.querySelector('.title a')!).color,
    }));
    expect(colours).toEqual({ page: 'rgb(17, 19, 24)', card: 'rgb(27, 31, 38)', title: 'rgb(230, 232, 235)' });
    await page.close();
  });
});

describe('the confirmation email in Chromium', () => {
  it('when opened at 375 px, then it fits and the button links to the confirm URL', async () => {
    const { page, requests } = await open(confirm.html, 375, 'light');
    await page.screenshot({ path: new URL('confirm-375-light.png', artifacts).pathname, fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    expect(await page.getByRole('link', { name: 'Confirm your subscription' }).getAttribute('href')).toBe(
      `${publicUrl}/confirm?t=abc`,
    );
    expect(requests).toEqual([]);
    await page.close();
  });
});
