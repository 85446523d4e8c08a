import { mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { createTestApp, type TestApp } from './test-app.ts';

/**
 * Headless Chromium from the system package (`apt-get install chromium`): playwright cannot
 * download its own browser here. The flags keep it from phoning home during tests.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** Where browser tests leave their screenshots. */
export const ARTIFACTS = 'test-artifacts';

/** What a browser test file works with: the app on a local port, and headless Chromium. */
export interface AppInChromium {
  t: TestApp;
  browser: Browser;
  base: string;
}

/**
 * Starts the app (sign-ups unlimited, plus `env`) and Chromium before the file's tests and closes
 * both after them; `prepare` runs on the app before it listens. The fields are set once the
 * file's beforeAll has run.
 */
export function appInChromium(env: Record<string, string> = {}, prepare?: (t: TestApp) => void): AppInChromium {
  const ui = {} as AppInChromium;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    ui.t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0', ...env });
    prepare?.(ui.t);
    ui.base = await ui.t.app.listen({ port: 0, host: '127.0.0.1' });
    ui.browser = await launchChromium();
  });
  afterAll(async () => {
    await ui.browser?.close();
    await ui.t?.close();
  });
  return ui;
}
