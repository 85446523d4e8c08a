import { spawn, type ChildProcess } from 'node:child_process';
import { format } from 'node:util';
import { vi } from 'vitest';
import { projectNode, repoRoot } from './server-process.ts';

export interface ScriptRun {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts `npm run <script>` as an operator would (scripts/launch.mjs, a clean environment plus `env`). */
export function startScript(script: string, args: string[], env: Record<string, string>): ScriptRun {
  const child = spawn(process.execPath, [...projectNode, 'scripts/launch.mjs', script, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d));
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, output: () => ({ stdout, stderr }), exited };
}

export const runScript = (script: string, args: string[], env: Record<string, string>) =>
  startScript(script, args, env).exited;

/**
 * A script's `cli` run in this process, with what it printed: for --help and usage errors, which
 * stop before any work and need no process of their own (a spawned tsx costs seconds here).
 * One at a time: it captures the console.
 */
export async function runInProcess(
  cli: (argv: string[]) => Promise<number>,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${format(...a)}\n`));
  const error = vi
    .spyOn(console, 'error')
    .mockImplementation((...a: unknown[]) => void (stderr += `${format(...a)}\n`));
  try {
    return { code: await cli(args), stdout, stderr };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/**
 * A script's `cli` run in this process on the environment `startScript` gives a spawned one (a
 * clean one plus `env`), with what it printed: for a command's logic (its output, its exit code,
 * what it leaves in the database) where a spawned run in the same file holds the process contract.
 * One at a time: it replaces process.env and captures the console and stdout while it runs.
 */
export async function runInProcessOn(
  cli: (argv: string[]) => Promise<number>,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = process.env;
  process.env = { PATH: saved.PATH ?? '', LOG_LEVEL: 'warn', ...env };
  let stdout = '';
  let stderr = '';
  const spies = [
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${format(...a)}\n`)),
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += `${format(...a)}\n`)),
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    }),
  ];
  try {
    return { code: await cli(args), stdout, stderr };
  } finally {
    for (const spy of spies) spy.mockRestore();
    process.env = saved;
  }
}
