import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createLogger, maskAddresses } from '../src/logger.ts';

/** A logger whose JSON lines land in an array. */
function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, 'stdout', {
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  return { logger, lines };
}

describe('addresses in logs', () => {
  it('when the level is info, then addresses in fields, messages, child bindings and errors are masked', () => {
    const { logger, lines } = capture('info');
    const child = logger.child({ recipient: 'ada.lovelace@example.org' });
    child.info({ to: ['bob@mail.example.com'] }, 'sent to carol+news@example.net');
    child.warn({ err: new Error('550 5.1.1 <dan@example.org>: Recipient address rejected') }, 'not sent');
    const text = JSON.stringify(lines);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      recipient: 'a***@example.org',
      to: ['b***@mail.example.com'],
      msg: 'sent to c***@example.net',
    });
    expect((lines[1]!.err as { message: string }).message).toBe(
      '550 5.1.1 <d***@example.org>: Recipient address rejected',
    );
    expect(text).not.toMatch(/ada|lovelace|bob@|carol|dan@/);
  });

  it('when the level is debug, then addresses are written as they are', () => {
    const { logger, lines } = capture('debug');
    logger.child({ recipient: 'ada@example.org' }).debug({ to: 'bob@example.com' }, 'sent to carol@example.net');
    expect(lines[0]).toMatchObject({
      recipient: 'ada@example.org',
      to: 'bob@example.com',
      msg: 'sent to carol@example.net',
    });
  });

  it('when text has no address, then masking leaves it alone', () => {
    const text = '{"level":30,"msg":"digest run done","date":"2026-11-24","url":"https://papers.example.org/x?a=1"}';
    expect(maskAddresses(text)).toBe(text);
    expect(maskAddresses('to x@example.org and Y.Z@sub.example.co.uk')).toBe(
      'to x***@example.org and Y***@sub.example.co.uk',
    );
  });
});

// `script` gives the child a real terminal, the one case where pretty lines are wanted.
const onTerminal = (nodeEnv: string) =>
  execFileSync('script', ['-qec', `node --import tsx -e "${SNIPPET}" </dev/null`, '/dev/null'], {
    env: { ...process.env, NODE_ENV_UNDER_TEST: nodeEnv },
    encoding: 'utf8',
    timeout: 30_000,
  });
const SNIPPET =
  "import('./src/logger.ts').then(({ createLogger }) => createLogger('info', 'stdout', { development: process.env.NODE_ENV_UNDER_TEST !== 'production' }).info({ to: 'ada@example.org' }, 'hello'))";

describe('log format', () => {
  it('when stdout is a terminal in development, then lines are pretty (and still masked)', () => {
    const out = onTerminal('development');
    expect(out).toContain('hello');
    expect(out).toContain('a***@example.org');
    expect(out).not.toContain('{"level"');
  });

  it('when NODE_ENV is production, then lines are JSON even on a terminal', () => {
    const out = onTerminal('production');
    const line = out.split(/\r?\n/).find((l) => l.startsWith('{'));
    expect(JSON.parse(line!)).toMatchObject({ level: 30, msg: 'hello', to: 'a***@example.org' });
  });
});
