import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectNode, repoRoot } from '../support/server-process.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { runInProcess } from '../support/cli.ts';
import { cli } from '../../scripts/doctor.ts';

/** `npm run doctor` as an operator runs it, on a clean environment plus `env`. */
const doctor = (args: string[], env: Record<string, string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [...projectNode, 'scripts/launch.mjs', 'doctor', ...args],
      { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr }),
    );
  });

let dir: string;
let sink: SmtpSink;
let site: Server;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'paperboy-doctor-cli-'));
  sink = await startSmtpSink();
  // Stands in for the running service behind PUBLIC_URL.
  site = createServer((req, res) => {
    if (req.url === '/healthz')
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok","migrations":15}');
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  env = {
    DATABASE_PATH: join(dir, 'paperboy.sqlite'),
    PUBLIC_URL: `http://127.0.0.1:${(site.address() as AddressInfo).port}`,
    SMTP_URL: sink.url,
    SECRET: 'doctor-secret-doctor-secret-0123456789',
  };
});
afterAll(async () => {
  await sink.close();
  await new Promise((resolve) => site.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run doctor', () => {
  it('when everything answers, then one line per check, all ok or skipped, exit 0, and no mail sent', async () => {
    const r = await doctor([], env);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.slice(0, 17).trimEnd())).toEqual([
      'ok   config',
      'ok   database',
      'ok   smtp',
      'ok   public url',
      'skip dkim',
      'skip unsubscribe',
    ]);
    expect(sink.messages).toHaveLength(0);
  });

  it('when the SMTP server is down, then exit 1 with one FAIL line, naming SMTP_URL', async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const r = await doctor([], { ...env, SMTP_URL: `smtp://paperboy:pw@127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    const failed = r.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
    expect(failed).toEqual([
      `FAIL smtp        SMTP_URL smtp://paperboy:***@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
    ]);
  });

  it('when a variable is invalid, then exit 1 with the config line and no other check', async () => {
    const r = await doctor([], { ...env, PORT: 'eighty' });
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toMatch(/^FAIL config {6}invalid configuration: PORT: /);
  });

  it('when asked for help, then usage and exit 0; when given an unknown option, then usage and exit 2', async () => {
    const help = await runInProcess(cli, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: npm run doctor');
    const bad = await runInProcess(cli, ['--fix']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^doctor: Unknown option '--fix'/);
  });
});
