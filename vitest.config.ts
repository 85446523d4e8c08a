import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/support/vitest-setup.ts'],
    globalSetup: [
      'tests/support/no-network-build.ts',
      'tests/support/compiled-templates.ts',
      'tests/support/dist-build.ts',
    ],
    // Vitest's default is one worker per core minus one: a single file at a time on a 2-core
    // box, while most files spend their time waiting on a server, a child process or Chromium.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
