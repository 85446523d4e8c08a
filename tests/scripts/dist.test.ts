import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { BOUNCE_MAIL } from '../support/bounce-fixtures.ts';
import { DATE, freezeFixtureDay, seedSubscribers } from '../support/digest-harness.ts';
import { projectNode, repoRoot } from '../support/server-process.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { testConfig } from '../support/test-context.ts';

/** What an install is made of besides node_modules: the inputs of dist/, and dist/ as the tests' run built it. */
const INSTALL = [
  'src',
  'scripts',
  'templates',
  'migrations',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'dist',
];
/** What `npm ci --omit=dev` leaves out that a build needs. */
const BUILD_TOOLS = /^(esbuild|@esbuild|tsx|mjml|mjml-.+)$/;
const USAGE = 'Sends the daily digest of a date';

let dir: string | undefined;
let sink: SmtpSink | undefined;
afterEach(async () => {
  await sink?.close();
  sink = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/**
 * A copy of this project in a folder of its own, dist/ included. `production`: its node_modules
 * lacks the build tools, as a production install does; `packages: false`: its node_modules is
 * empty; else it is this project's.
 */
function copyInstall(name: string, o: { production?: boolean; dist?: boolean; packages?: false } = {}): string {
  dir ??= mkdtempSync(join(tmpdir(), 'paperboy-install-'));
  const root = join(dir, name);
  for (const entry of INSTALL.filter((e) => e !== 'dist' || o.dist !== false))
    cpSync(join(repoRoot, entry), join(root, entry), { recursive: true });
  const modules = join(repoRoot, 'node_modules');
  if (o.packages === false) mkdirSync(join(root, 'node_modules'));
  else if (!o.production) symlinkSync(modules, join(root, 'node_modules'));
  else {
    mkdirSync(join(root, 'node_modules'));
    for (const pkg of readdirSync(modules).filter((p) => !p.startsWith('.') && !BUILD_TOOLS.test(p)))
      symlinkSync(realpathSync(join(modules, pkg)), join(root, 'node_modules', pkg));
  }
  return root;
}

/** `npm run <command>` in the install at `root`: its scripts/launch.mjs, from that folder, and the no-network guard. */
function launch(root: string, command: string, args: string[] = [], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [...projectNode, join(root, 'scripts', 'launch.mjs'), command, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

/** Edits send-now's --help text in the install at `root`: a source change that shows. */
function editUsage(root: string, replacement: string): void {
  const file = join(root, 'scripts', 'send-now.ts');
  writeFileSync(file, readFileSync(file, 'utf8').replace(USAGE, replacement));
}

const builtFrom = (root: string) => readFileSync(join(root, 'dist', 'build.json'), 'utf8');
const scratchLeft = (root: string) => readdirSync(root).filter((f) => f.startsWith('dist.'));

/** A database beside the install with one confirmed daily subscriber and the fixture day frozen. */
function database(env: Record<string, string> = {}) {
  const t = testConfig(env);
  const ctx = createContext(t.config, createLogger('silent'));
  seedSubscribers(ctx.db, 1);
  freezeFixtureDay(ctx as Parameters<typeof freezeFixtureDay>[0]);
  ctx.close();
  return {
    cleanup: () => rmSync(t.dir, { recursive: true, force: true }),
    env: {
      DATABASE_PATH: t.config.DATABASE_PATH,
      OUTBOX_DIR: t.config.OUTBOX_DIR,
      PUBLIC_URL: 'https://papers.example.org',
      SECRET: 'test-secret-test-secret-test-secret-0123',
      ...env,
    },
  };
}

describe('dist/, the build the npm scripts run', () => {
  it('when an install is copied and then moved to another folder, then --help and a bad flag still answer', async () => {
    const copied = copyInstall('copied');
    const moved = join(dir!, 'moved');
    renameSync(copied, moved);

    const help = await launch(moved, 'send-now', ['--help']);
    const bad = await launch(moved, 'send-now', ['--frobnicate']);
    const doctor = await launch(moved, 'doctor', ['--help']);

    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run send-now --/);
    expect(help.stderr).toBe('');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^send-now: Unknown option '--frobnicate'/);
    expect(doctor.code).toBe(0);
    expect(doctor.stdout).toMatch(/^Usage: npm run doctor/);
  });

  it('when no package is installed, then the operator commands still answer --help and a bad flag: they load none', async () => {
    const root = copyInstall('no-packages', { packages: false });

    const runs = {
      sendHelp: await launch(root, 'send-now', ['--help']),
      sendBad: await launch(root, 'send-now', ['--frobnicate']),
      subscribersHelp: await launch(root, 'subscribers', ['--help']),
      subscribersBad: await launch(root, 'subscribers', ['frobnicate']),
    };
    for (const command of ['ingest', 'migrate', 'doctor', 'schedule']) {
      const help = await launch(root, command, ['--help']);
      const bad = await launch(root, command, ['--frobnicate']);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: npm run ${command}`));
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr).toMatch(new RegExp(`^${command}: Unknown option '--frobnicate'`));
    }

    expect(runs.sendHelp.code, runs.sendHelp.stderr).toBe(0);
    expect(runs.sendHelp.stdout).toMatch(/^Usage: npm run send-now --/);
    expect(runs.sendBad.code).toBe(2);
    expect(runs.sendBad.stderr).toMatch(/^send-now: Unknown option '--frobnicate'/);
    expect(runs.subscribersHelp.code, runs.subscribersHelp.stderr).toBe(0);
    expect(runs.subscribersHelp.stdout).toMatch(/^Usage: npm run subscribers -- COMMAND/);
    expect(runs.subscribersBad.code).toBe(2);
    expect(runs.subscribersBad.stderr).toMatch(/^subscribers: unknown command "frobnicate"/);
  });

  it('when a source changed since dist/ was built, then the next command builds it again first and runs the change', async () => {
    const root = copyInstall('edited');
    const before = builtFrom(root);
    editUsage(root, 'Sends (edited) the daily digest of a date');

    const help = await launch(root, 'send-now', ['--help']);

    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Sends (edited) the daily digest');
    expect(help.stderr).toMatch(/^dist\/ is out of date: building it\n/);
    expect(builtFrom(root)).not.toBe(before);
    expect(scratchLeft(root)).toEqual([]);
    const again = await launch(root, 'send-now', ['--help']);
    expect(again.stderr).toBe('');
  });

  it('when a template changed since dist/ was built, then the next command compiles it into dist/ and renders with it', async () => {
    const root = copyInstall('template');
    const footer = join(root, 'templates', 'partials', 'footer.mjml');
    writeFileSync(
      footer,
      readFileSync(footer, 'utf8').replace('{{postal}}</p>', '{{postal}}</p>\n<p>Edited footer line</p>'),
    );
    const db = database();
    try {
      const preview = join(dir!, 'preview.html');
      const r = await launch(root, 'send-now', ['--date', DATE, '--preview', preview], db.env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^dist\/ is out of date: building it\n/);
      expect(readFileSync(preview, 'utf8')).toContain('Edited footer line');
    } finally {
      db.cleanup();
    }
  });

  it('when several commands start at once on a stale dist/, then one builds it, the others wait for it, and all run the new build', async () => {
    const root = copyInstall('together');
    editUsage(root, 'Sends (together) the daily digest of a date');

    const runs = await Promise.all([1, 2, 3].map(() => launch(root, 'send-now', ['--help'])));

    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('Sends (together) the daily digest');
    }
    expect(runs.map((r) => r.stderr.match(/^dist\/ built /gm) ?? []).flat()).toHaveLength(1);
    expect(scratchLeft(root)).toEqual([]);
  });

  it('when a build died midway, then the lock and the half-written folder it left do not stop the next one', async () => {
    const root = copyInstall('interrupted');
    const gone = spawnSync('true').pid!;
    writeFileSync(join(root, 'dist.lock'), String(gone));
    mkdirSync(join(root, `dist.building-${gone}`, 'src'), { recursive: true });
    editUsage(root, 'Sends (after a crash) the daily digest of a date');

    const help = await launch(root, 'send-now', ['--help']);

    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('Sends (after a crash) the daily digest');
    expect(scratchLeft(root)).toEqual([]);
  });

  it('when the build tools are not installed and dist/ is stale, then a command warns and runs dist/ as it is', async () => {
    const root = copyInstall('production-stale', { production: true });
    const before = builtFrom(root);
    editUsage(root, 'Sends (never built) the daily digest of a date');

    const help = await launch(root, 'send-now', ['--help']);

    expect(help.code).toBe(0);
    expect(help.stdout).toContain(USAGE);
    expect(help.stderr).toMatch(/^warning: dist\/ was built from other sources than the ones beside it/);
    expect(builtFrom(root)).toBe(before);
  });

  it('when the build tools are not installed, then a digest is rendered from the compiled templates and sent, and a bounce report is parsed on the compiled parser thread', async () => {
    const root = copyInstall('production', { production: true });
    sink = await startSmtpSink();
    const db = database({ SMTP_URL: sink.url, MAIL_FROM: 'Paperboy <digest@papers.example.org>' });
    try {
      const send = await launch(root, 'send-now', ['--date', DATE], db.env);
      expect(send.code, send.stderr).toBe(0);
      expect(send.stderr).not.toContain('dist/');
      expect(sink.messages).toHaveLength(1);
      expect(sink.messages[0]!.parsed.subject).toMatch(/^Paperboy · /);

      const bounces = await launch(root, 'bounces', ['import', join(BOUNCE_MAIL, 'lhost-gmx-02.eml')], db.env);
      expect(bounces.code, bounces.stderr).toBe(0);
      expect(bounces.stdout).toMatch(/lhost-gmx-02\.eml: dsn: shironeko@example\.jp/);
    } finally {
      db.cleanup();
    }
  });

  it('when dist/ is missing and the build tools are not installed, then a command fails and says so', async () => {
    const root = copyInstall('production-unbuilt', { production: true, dist: false });

    const help = await launch(root, 'send-now', ['--help']);

    expect(help.code).toBe(1);
    expect(help.stdout).toBe('');
    expect(help.stderr).toMatch(/dist\/ is missing and the build tools \(development dependencies\) are not installed/);
  });
});

describe('the launcher', () => {
  it('when Node has a compile cache (22.1 and later), then a command keeps its compiled code in the temporary folder; on Node 20 it runs without', async () => {
    dir ??= mkdtempSync(join(tmpdir(), 'paperboy-install-'));

    const help = await launch(repoRoot, 'send-now', ['--help'], { TMPDIR: dir });

    expect(help.code, help.stderr).toBe(0);
    expect(existsSync(join(dir, 'node-compile-cache'))).toBe('enableCompileCache' in module);
  });

  it('when asked for a command dist/ does not have, then it says so and exits 2', async () => {
    const r = await launch(copyInstall('unknown'), 'no-such-command');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/dist\/ has no command no-such-command/);
  });
});
