import { fileURLToPath } from 'node:url';

/** The recorded paper API responses, kept in the repository (format: its README.md). */
export const fixturesDir = fileURLToPath(new URL('../fixtures/hf-daily-papers/', import.meta.url));
