import { afterEach } from 'vitest';
import { takeBlockedAttempts } from './no-network.ts';

// A blocked connection may have been swallowed by a retry loop or a logger: the test still fails.
afterEach(() => {
  const attempts = takeBlockedAttempts();
  if (attempts.length) throw new Error(`this test tried to reach the network: ${attempts.join(', ')}`);
});
