import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.ts';
import { createContext, type Context, type ContextOverrides } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { seedCompiledTemplates } from './compiled-templates.ts';

export interface TestContext extends Context {
  dir: string;
}

/** A config on a fresh temp folder (database, outbox), as npm start would build it. */
export function testConfig(env: Record<string, string> = {}): { config: Config; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'paperboy-test-'));
  const config = loadConfig({
    DATABASE_PATH: join(dir, 'paperboy.sqlite'),
    OUTBOX_DIR: join(dir, 'outbox'),
    PUBLIC_URL: 'https://papers.example.org',
    SECRET: 'test-secret-test-secret-test-secret-0123',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  seedCompiledTemplates(config.DATABASE_PATH);
  return { config, dir };
}

export function createTestContext(env: Record<string, string> = {}, overrides: ContextOverrides = {}): TestContext {
  const { config, dir } = testConfig(env);
  const ctx = createContext(config, createLogger(config.LOG_LEVEL), overrides);
  const closeContext = ctx.close;
  return Object.assign(ctx, {
    dir,
    close() {
      closeContext();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
