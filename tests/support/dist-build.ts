import { execFileSync } from 'node:child_process';
import { repoRoot } from './server-process.ts';

/**
 * dist/ brought up to date once, before any test starts the service or a command from it
 * (scripts/launch.mjs): otherwise the first of them would build it, with lines on its stderr that
 * a test of that command's output does not expect, while the others wait for that build.
 * tests/scripts/dist.test.ts tests the launcher's own builds, in copies of the project.
 */
export default function buildDistOnce(): void {
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
