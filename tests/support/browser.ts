import { chromium, type Browser } from 'playwright-core';

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
