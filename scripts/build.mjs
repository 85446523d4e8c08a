// `npm run build`: src/ and scripts/ compiled to JavaScript (esbuild, one file per module, the
// same tree) and the MJML templates compiled and checked byte for byte (src/mail/templates.ts),
// all into dist/, with the hash of the inputs it was built from (scripts/build-inputs.mjs).
// `--if-stale` builds only when that hash differs: what the launcher (scripts/launch.mjs) asks.
//
// A build writes a folder of its own and renames it into place, so nothing ever loads half a
// build; one build at a time (dist.lock), and a process that waited for another's build uses it
// when it fits. Plain JavaScript: it runs before anything is compiled.
import { copyFileSync, cpSync, existsSync, linkSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { builtHash, filesUnder, inputsHash, RECORD } from './build-inputs.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const lockFile = join(root, 'dist.lock');
/** Scratch folders beside dist/ (the same file system, so a rename moves them), named by their process. */
const SCRATCH = /^dist\.(?:building|old)-(\d+)$/;

try {
  await underLock(build);
} catch (err) {
  console.error(`build failed: ${err.message}`);
  process.exitCode = 1;
}

async function build() {
  const inputs = inputsHash(root);
  if (inputs === undefined) throw new Error(`no src/ in ${root}: nothing to build`);
  if (process.argv.includes('--if-stale') && builtHash(dist) === inputs) return;
  removeScratch();
  const out = join(root, `dist.building-${process.pid}`);
  try {
    await compileCode(out);
    copyAssets(out);
    await compileTemplates(out);
    writeFileSync(join(out, RECORD), `${JSON.stringify({ inputs }, null, 2)}\n`);
    moveIntoPlace(out);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  console.log(`dist/ built (inputs ${inputs.slice(0, 12)})`);
}

/** Each module compiled on its own: relative imports of TypeScript point at the compiled twins. */
async function compileCode(out) {
  const { build } = await import('esbuild');
  const sources = ['src', 'scripts']
    .flatMap((dir) => filesUnder(root, dir))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  await build({
    entryPoints: sources.map((f) => join(root, f)),
    outbase: root,
    outdir: out,
    // Bundling, with every package and every other module left outside, is what lets the plugin
    // rewrite import paths; JSON (package.json's version) is inlined.
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    // Its errors are in the message it throws, said once below.
    logLevel: 'silent',
    plugins: [
      {
        name: 'one-file-per-module',
        setup(b) {
          b.onResolve({ filter: /^\.\.?\/.*\.(ts|mjs)$/ }, ({ path }) => ({
            path: path.replace(/\.ts$/, '.js'),
            external: true,
          }));
        },
      },
    ],
  });
}

/** Beside the code, what it reads at run time: worker threads (plain JavaScript), templates, migrations. */
function copyAssets(out) {
  for (const file of filesUnder(root, 'src').filter((f) => !/\.(d\.)?m?ts$/.test(f)))
    cpSync(join(root, file), join(out, file));
  cpSync(join(root, 'templates'), join(out, 'templates'), { recursive: true });
  cpSync(join(root, 'migrations'), join(out, 'migrations'), { recursive: true });
}

/**
 * The templates compiled and checked by the compiled code itself (loadTemplates fails on a
 * template that does not compile or that filling would change), kept where the compiled code
 * looks for them: a service run from dist/ needs no MJML.
 */
async function compileTemplates(out) {
  const load = (rel) => import(pathToFileURL(join(out, rel)).href);
  const { loadTemplates } = await load('src/mail/templates.js');
  const { builtTemplatesFile, compiledTemplatesFile } = await load('src/mail/template-cache.js');
  const scratch = mkdtempSync(join(tmpdir(), 'paperboy-build-'));
  try {
    // Any values: the compiled set holds placeholders, not them.
    await loadTemplates({ publicUrl: 'https://paperboy.example.org', postalAddress: 'Paperboy', cacheDir: scratch });
    copyFileSync(compiledTemplatesFile(scratch), builtTemplatesFile);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * dist/ replaced by the new build. A directory cannot be renamed over another, so the old one
 * steps aside first; a launcher that looks in between finds no build and waits for the lock.
 */
function moveIntoPlace(out) {
  const old = join(root, `dist.old-${process.pid}`);
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(out, dist);
  rmSync(old, { recursive: true, force: true });
}

/** What builds that died left behind. */
function removeScratch() {
  for (const name of readdirSync(root)) {
    const pid = SCRATCH.exec(name)?.[1];
    if (pid && !isAlive(Number(pid))) rmSync(join(root, name), { recursive: true, force: true });
  }
}

/**
 * Runs `work` holding dist.lock, which names the process holding it: written aside, then linked
 * into place, so it never exists empty. A lock whose process is gone (a build killed midway) is
 * taken over; a live one is waited for, said once on stderr.
 */
async function underLock(work) {
  const mine = `${lockFile}.${process.pid}`;
  writeFileSync(mine, String(process.pid));
  let said = false;
  try {
    while (!tryLink(mine)) {
      const holder = lockHolder();
      if (holder === undefined) continue;
      if (!isAlive(holder)) {
        // Read again right before removing it: another waiter may have taken it over meanwhile.
        if (lockHolder() === holder) rmSync(lockFile, { force: true });
        continue;
      }
      if (!said) console.error(`another process (pid ${holder}) is building dist/: waiting`);
      said = true;
      await sleep(100);
    }
  } finally {
    unlinkSync(mine);
  }
  try {
    await work();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

function tryLink(mine) {
  try {
    linkSync(mine, lockFile);
    return true;
  } catch (err) {
    if (err.code === 'EEXIST') return false;
    throw err;
  }
}

function lockHolder() {
  try {
    return Number(readFileSync(lockFile, 'utf8'));
  } catch {
    // Released just now.
    return undefined;
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}
