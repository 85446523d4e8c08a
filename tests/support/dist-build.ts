import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * dist/ brought up to date once, before any test starts the service or a command from it
 * (scripts/launch.mjs): otherwise the first of them would build it, with lines on its stderr that
 * a test of that command's output does not expect, while the others wait for that build.
 * tests/scripts/dist.test.ts tests the launcher's own builds, in copies of the project.
 */
export default function buildDistOnce(): void {
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], {
    // Not server-process.ts's repoRoot: that module needs the guard, compiled by another global setup.
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
