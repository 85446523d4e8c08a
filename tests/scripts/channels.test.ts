import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { cli } from '../../scripts/channels.ts';
import { runInProcess, runScript } from '../support/cli.ts';
import { testConfig } from '../support/test-context.ts';
import { freezeFixtureDay } from '../support/digest-harness.ts';
import { startWebhookServer, type WebhookServer } from '../support/webhook-server.ts';

let dir: string | undefined;
let hooks: WebhookServer | undefined;
afterEach(async () => {
  await hooks?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  hooks = undefined;
});

describe('npm run channels', () => {
  it('when asked for help or given bad arguments, then it prints usage and exits 0 or 2', async () => {
    const help = await runInProcess(cli, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run channels -- COMMAND/);
    const cases: [string[], RegExp][] = [
      [[], /a command is needed/],
      [['frob'], /unknown command "frob"/],
      [['add'], /add takes one URL/],
      [['add', 'not a url'], /the URL is not a URL/],
      [['add', 'ftp://example.org/x'], /must be https:/],
      [['add', 'https://example.org/x', '--kind', 'teams'], /--kind must be one of slack, discord, json/],
      [['add', 'https://example.org/x', '--cadence', 'monthly'], /--cadence must be daily or weekly/],
      [['add', 'https://example.org/x', '--size', '7'], /--size must be one of 5, 10, 20/],
      [['add', 'https://example.org/x', '--frob'], /Unknown option '--frob'/],
      [['remove', 'x1'], /not a channel id: "x1"/],
      [['list', '--kind', 'slack'], /--kind applies to add only/],
    ];
    for (const [args, message] of cases) {
      const r = await runInProcess(cli, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('when channels are added, listed, tested and removed, then the URLs stay masked and the test posts a valid sample', async () => {
    hooks = await startWebhookServer();
    const t = testConfig();
    dir = t.dir;
    const ctx = createContext(t.config, createLogger('silent'));
    freezeFixtureDay(ctx as Parameters<typeof freezeFixtureDay>[0]);
    ctx.close();
    const env = { DATABASE_PATH: t.config.DATABASE_PATH, PUBLIC_URL: 'https://papers.example.org' };
    const slack = `${hooks.base}/slack/T0000/B0000/SECRETsecret`;
    const gone = `${hooks.base}/discord/123/GONEtoken`;

    const added = await runScript('channels', ['add', slack, '--kind', 'slack', '--keywords', 'diffusion'], env);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toBe(
      `channel 1 added: slack, daily, 10 papers, keywords diffusion, ${hooks.base}/slack/T00…\n`,
    );
    const again = await runScript('channels', ['add', slack], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('that URL is already channel 1');
    expect((await runScript('channels', ['add', gone, '--kind', 'discord', '--size', '5'], env)).code).toBe(0);

    const tested = await runScript('channels', ['test', '1'], env);
    expect(tested.code, tested.stderr).toBe(0);
    expect(tested.stdout).toBe('channel 1: sample posted (HTTP 200)\n');
    expect(hooks.received.map((r) => [r.path, r.problems])).toEqual([['/slack/T0000/B0000/SECRETsecret', []]]);
    hooks.answers.push({ status: 404 });
    const deleted = await runScript('channels', ['test', '2'], env);
    expect(deleted.code).toBe(1);
    expect(deleted.stderr).toContain('channel 2: the webhook is gone (HTTP 404): channel disabled');

    const list = await runScript('channels', ['list'], env);
    expect(list.stdout.split('\n')).toEqual([
      'id\tkind\tcadence\tsize\tkeywords\tstate\turl',
      `1\tslack\tdaily\t10\tdiffusion\tenabled\t${hooks.base}/slack/T00…`,
      `2\tdiscord\tdaily\t5\t-\tdisabled: webhook gone (HTTP 404)\t${hooks.base}/discord/1…`,
      '',
    ]);
    const everything = [added, again, tested, deleted, list].map((r) => r.stdout + r.stderr).join('');
    expect(everything).not.toMatch(/SECRETsecret|GONEtoken/);

    expect((await runScript('channels', ['remove', '1'], env)).stdout).toBe('channel 1 removed\n');
    const missing = await runScript('channels', ['test', '1'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no channel 1');
  });
});
