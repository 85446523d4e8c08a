import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../src/app.ts';
import { loadTemplates, type Templates } from '../../src/mail/templates.ts';
import type { Clock } from '../../src/clock.ts';
import { templateSettings, type ContextOverrides } from '../../src/context.ts';
import { createTestContext, type TestContext } from './test-context.ts';

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  constructor(public current = new Date('2026-11-25T08:00:00.000Z')) {}
  now() {
    return new Date(this.current);
  }
  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
}

// Loaded once per PUBLIC_URL, from the run's compiled templates (compiled-templates.ts).
const templatesByUrl = new Map<string, Promise<Templates>>();

export interface TestApp {
  ctx: TestContext;
  app: FastifyInstance;
  templates: Templates;
  close(): Promise<void>;
}

/** The real app on a temp database; mail stays queued unless the test sends it. */
export async function createTestApp(
  env: Record<string, string> = {},
  overrides: ContextOverrides = {},
  options: Omit<AppOptions, 'templates'> = {},
): Promise<TestApp> {
  const ctx = createTestContext(env, overrides);
  const key = ctx.config.PUBLIC_URL;
  if (!templatesByUrl.has(key)) templatesByUrl.set(key, loadTemplates(templateSettings(ctx.config)));
  const t = await templatesByUrl.get(key)!;
  const app = await buildApp(ctx, { ...options, templates: t });
  return {
    ctx,
    app,
    templates: t,
    async close() {
      await app.close();
      ctx.close();
    },
  };
}
