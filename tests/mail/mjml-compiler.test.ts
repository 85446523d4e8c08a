import { afterEach, describe, expect, it, vi } from 'vitest';
import { compileMjml } from '../../src/mail/mjml-compiler.ts';

const page = (text: string) =>
  `<mjml><mj-body><mj-section><mj-column><mj-text>${text}</mj-text></mj-column></mj-section></mj-body></mjml>`;

afterEach(() => {
  vi.useRealTimers();
});

describe('compileMjml', () => {
  it('when a compile comes just as the idle thread is ended, then it goes to a new thread and succeeds', async () => {
    expect(await compileMjml(page('first'))).toContain('first');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    // The idle timer (set after the first compile) was made before the fake clock: ask again to re-arm it under it.
    expect(await compileMjml(page('second'))).toContain('second');
    vi.advanceTimersByTime(1_000); // the idle thread is told to end; its exit comes later
    vi.useRealTimers();
    // Before the exit event: this compile starts a new thread, which the old one's exit must not fail.
    expect(await compileMjml(page('third'))).toContain('third');
  });

  it('when the MJML is invalid, then MJML’s message comes back and the next compile still works', async () => {
    await expect(compileMjml('<mjml><mj-body><mj-nonsense /></mj-body></mjml>')).rejects.toThrow();
    expect(await compileMjml(page('after'))).toContain('after');
  });
});
