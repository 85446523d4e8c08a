import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, projectNode, repoRoot } from '../support/server-process.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paperboy-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** `npm start` (scripts/launch.mjs: the service from dist/) on a fresh folder plus `env`, to its exit (or 30 s). */
async function startService(env: Record<string, string>) {
  const port = env.PORT ?? String(await freePort());
  const child = spawn(process.execPath, [...projectNode, 'scripts/launch.mjs', 'start'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: port,
      LOG_LEVEL: 'info',
      DATABASE_PATH: join(dir, 'paperboy.sqlite'),
      OUTBOX_DIR: join(dir, 'outbox'),
      SECRET: 'test-secret-test-secret-test-secret-0123',
      // Nothing may reach out if a run gets that far: the paper source is a closed local port.
      PAPERS_API_URL: 'http://127.0.0.1:9/api/daily_papers',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr, port };
}

/** The failure an operator sees: exit 1, one line on stderr naming the variable, nothing listened. */
async function expectOneLine(env: Record<string, string>, line: RegExp) {
  const r = await startService(env);
  expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(line);
  expect(r.code).toBe(1);
  expect(r.stdout).not.toMatch(/listening|paperboy is running/i);
  return r;
}

/** Another program's listener on `port`. */
async function holdPort(port: number): Promise<Server> {
  const other = createServer();
  await new Promise<void>((resolve, reject) => other.once('error', reject).listen(port, '127.0.0.1', resolve));
  return other;
}

/** How many connections to `port` were accepted while `run` was under way (one attempt at a time). */
async function acceptedWhile(port: number, run: Promise<unknown>): Promise<number> {
  let over = false;
  const ended = () => (over = true);
  run.then(ended, ended);
  let accepted = 0;
  while (!over) {
    accepted += await new Promise<number>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(1)));
      socket.once('error', () => resolve(0));
    });
    await new Promise((r) => setTimeout(r, 10));
  }
  await run;
  return accepted;
}

describe('when start-up meets a bad setting, then it says so in one line naming it, exits 1, and nothing listens', () => {
  it('DIGEST_CRON that is not a cron expression', async () => {
    await expectOneLine({ DIGEST_CRON: '61 7 * * *' }, /^invalid configuration: DIGEST_CRON: /);
  });

  it('MAIL_FROM without an address', async () => {
    await expectOneLine({ MAIL_FROM: 'Paperboy' }, /^invalid configuration: MAIL_FROM: /);
  });

  it('DKIM_PRIVATE_KEY_PATH naming no file', async () => {
    await expectOneLine(
      { DKIM_DOMAIN: 'example.org', DKIM_SELECTOR: 'pb', DKIM_PRIVATE_KEY_PATH: join(dir, 'missing.pem') },
      /^invalid configuration: DKIM_PRIVATE_KEY_PATH: .*missing\.pem/,
    );
  });

  it('DKIM_PRIVATE_KEY_PATH naming a file that holds no private key (a public key)', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    writeFileSync(join(dir, 'public.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    await expectOneLine(
      { DKIM_DOMAIN: 'example.org', DKIM_SELECTOR: 'pb', DKIM_PRIVATE_KEY_PATH: join(dir, 'public.pem') },
      /^invalid configuration: DKIM_PRIVATE_KEY_PATH: .*not a private key/,
    );
  });

  it('DKIM_ED25519_KEY_PATH naming no file', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    writeFileSync(join(dir, 'rsa.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await expectOneLine(
      {
        DKIM_DOMAIN: 'example.org',
        DKIM_SELECTOR: 'pb',
        DKIM_PRIVATE_KEY_PATH: join(dir, 'rsa.pem'),
        DKIM_ED25519_KEY_PATH: join(dir, 'missing-ed25519.pem'),
      },
      /^invalid configuration: DKIM_ED25519_KEY_PATH: cannot read .*missing-ed25519\.pem \(ENOENT\)/,
    );
  });

  it('HOST that is neither an address nor a host name', async () => {
    await expectOneLine({ HOST: 'http://0.0.0.0' }, /^invalid configuration: HOST: /);
  });

  it('HOST that is an address of no interface here', async () => {
    // TEST-NET-1: never assigned to a machine; the listen fails without any packet sent.
    await expectOneLine({ HOST: '192.0.2.1' }, /^invalid configuration: HOST: 192\.0\.2\.1 /);
  });

  it('PORT that another program listens on', async () => {
    const port = await freePort();
    const other: Server = createServer();
    await new Promise<void>((resolve) => other.listen(port, '127.0.0.1', resolve));
    try {
      await expectOneLine({ PORT: String(port) }, new RegExp(`^PORT ${port} is in use`));
    } finally {
      other.close();
    }
  });

  it('BOUNCE_SMTP_PORT that another program listens on: said before HTTP listens', async () => {
    const [port, bouncePort] = [await freePort(), await freePort()];
    const other = await holdPort(bouncePort);
    try {
      const run = expectOneLine(
        { PORT: String(port), BOUNCE_SMTP_PORT: String(bouncePort) },
        new RegExp(`^BOUNCE_SMTP_PORT ${bouncePort} is in use on 127\\.0\\.0\\.1: `),
      );
      expect(await acceptedWhile(port, run)).toBe(0);
    } finally {
      other.close();
    }
  });

  it('BOUNCE_SMTP_PORT equal to PORT', async () => {
    const port = String(await freePort());
    await expectOneLine(
      { PORT: port, BOUNCE_SMTP_PORT: port },
      new RegExp(`^invalid configuration: BOUNCE_SMTP_PORT and PORT are both ${port}`),
    );
  });

  it('PORT that another program listens on, with BOUNCE_SMTP_PORT free: the receiver bound first, and it goes with the exit', async () => {
    const [port, bouncePort] = [await freePort(), await freePort()];
    const other = await holdPort(port);
    try {
      const r = await startService({ PORT: String(port), BOUNCE_SMTP_PORT: String(bouncePort) });
      expect(r.stderr.trimEnd().split('\n'), r.stderr).toEqual([
        `PORT ${port} is in use on 127.0.0.1: stop the other program or choose another PORT`,
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout).not.toMatch(/Server listening|paperboy is running/);
      // The receiver's port went with the process: another program can have it.
      (await holdPort(bouncePort)).close();
    } finally {
      other.close();
    }
  });

  it('DATABASE_PATH naming a file that is not a SQLite database', async () => {
    writeFileSync(
      join(dir, 'paperboy.sqlite'),
      'this is not a database, just a text file of some length. '.repeat(100),
    );
    await expectOneLine({}, /^DATABASE_PATH: .*paperboy\.sqlite/);
  });
});
