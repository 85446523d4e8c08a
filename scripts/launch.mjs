// What the npm scripts run: `node scripts/launch.mjs start` (the service, dist/src/main.js) or
// `node scripts/launch.mjs NAME ARGS…` (an operator command, dist/scripts/NAME.js, whose `cli`
// it calls with ARGS and whose answer is the exit status). It runs dist/, the compiled build
// (scripts/build.mjs), in this same process.
//
// dist/ records the hash of the inputs it was built from. When they differ and the build tools
// (esbuild, MJML: development dependencies) are installed, it builds first, as `npm run build`
// would; without them (a production install) it runs dist/ as it is and says it is stale.
// Plain JavaScript with no packages: it starts before anything is compiled.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import module, { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { builtHash, inputsHash } from './build-inputs.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const [name, ...args] = process.argv.slice(2);
if (!name || !/^[\w-]+$/.test(name)) {
  console.error(
    'usage: node scripts/launch.mjs start | COMMAND [ARGS...]  (COMMAND: a scripts/*.ts file, without .ts)',
  );
  process.exit(EXIT_USAGE);
}
const entry = name === 'start' ? join(dist, 'src', 'main.js') : join(dist, 'scripts', `${name}.js`);

bringUpToDate();
if (!existsSync(entry)) {
  console.error(`paperboy: dist/ has no ${name === 'start' ? 'service' : `command ${name}`} (${entry})`);
  process.exit(EXIT_USAGE);
}
// V8's compiled code kept between runs, in the system's temporary folder (Node 22.1 and later;
// Node 20 has no such cache): zod and the command's own modules then start without compiling.
module.enableCompileCache?.();
const loaded = await import(pathToFileURL(entry).href);
if (name !== 'start') process.exitCode = await loaded.cli(args);

/** Builds dist/ when it does not match its inputs and the tools are here; else says why it runs as it is, or cannot. */
function bringUpToDate() {
  const inputs = inputsHash(root);
  const built = builtHash(dist);
  // No sources beside dist/ (an image): nothing to compare it with.
  if (built !== undefined && (inputs === undefined || inputs === built)) return;
  if (buildToolsInstalled()) {
    console.error(built === undefined ? 'dist/ is not built yet: building it' : 'dist/ is out of date: building it');
    const { status, signal } = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--if-stale'], {
      // Its report goes to stderr: a command's standard output is its answer (`subscribers export`).
      stdio: ['ignore', 2, 2],
    });
    if (status === 0) return;
    console.error(`paperboy: dist/ could not be built (${signal ?? `exit ${status}`}): see above`);
    process.exit(EXIT_FAILED);
  }
  if (built === undefined) {
    console.error(
      'paperboy: dist/ is missing and the build tools (development dependencies) are not installed: ' +
        'run `npm ci && npm run build` in a full install, then copy dist/ here',
    );
    process.exit(EXIT_FAILED);
  }
  console.error(
    'warning: dist/ was built from other sources than the ones beside it (src/, scripts/, templates/, ' +
      'migrations/ or the package files changed); running it as it is. `npm run build` where the development ' +
      'dependencies are installed brings it up to date.',
  );
}

function buildToolsInstalled() {
  const require = createRequire(import.meta.url);
  try {
    require.resolve('esbuild');
    require.resolve('mjml');
    return true;
  } catch {
    return false;
  }
}
