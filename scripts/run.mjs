// Starts an operator script (scripts/NAME.ts) from JavaScript compiled ahead of time, so a
// command does not pay for tsx on every start: `node --import tsx` alone costs ~2-5x Node's own
// start-up, before the first line of the script runs. The npm scripts call this file; there is
// no build step to remember: every start compares the sources' sizes and modification times with
// what was compiled (a few ms) and recompiles only what changed, one file at a time, with the
// esbuild that tsx uses. Plain JavaScript, as it must start without a TypeScript loader.
//
// The compiled tree mirrors src/ and scripts/ under node_modules/.cache/paperboy-js/, so packages
// resolve as they do for the sources. `import.meta.url` is pinned to the source file's URL, so
// templates, migrations and worker files are found where they are.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'node_modules', '.cache', 'paperboy-js');
const manifestFile = join(out, 'manifest.json');

const [name, ...args] = process.argv.slice(2);
if (!name || !/^[\w-]+$/.test(name) || !existsSync(join(root, 'scripts', `${name}.ts`))) {
  console.error(`usage: node scripts/run.mjs SCRIPT [ARGS...]  (SCRIPT: a scripts/*.ts file, without .ts)`);
  process.exit(2);
}

/** Every source file of the app and the scripts, with the stamp that tells it changed. */
function sources() {
  const found = new Map();
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const s = statSync(path);
        found.set(relative(root, path), `${s.size}:${s.mtimeMs}`);
      }
    }
  };
  walk(join(root, 'src'));
  walk(join(root, 'scripts'));
  return found;
}

/** Written beside and renamed, so two commands starting at once never read half a file. */
function writeAtomic(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}

const compiledPath = (rel) => join(out, rel.replace(/\.ts$/, '.mjs'));

async function compile(stale) {
  const { transform } = await import('esbuild');
  await Promise.all(
    stale.map(async (rel) => {
      const source = join(root, rel);
      // esnext: Node 20 runs it all, and an older target would drop import attributes.
      const { code } = await transform(readFileSync(source, 'utf8'), {
        loader: 'ts',
        format: 'esm',
        target: 'esnext',
        sourcefile: source,
      });
      const js = code
        .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(source).href))
        // Relative imports of .ts files point at their compiled twins; of anything else (JSON, the
        // DKIM worker's plain JavaScript) at the original file.
        .replace(/((?:\bfrom|\bimport)\s*\(?\s*)(['"])(\.{1,2}\/[^'"\n]+?)\2/g, (_, before, quote, spec) =>
          spec.endsWith('.ts')
            ? `${before}${quote}${spec.slice(0, -3)}.mjs${quote}`
            : `${before}${quote}${new URL(spec, pathToFileURL(source)).href}${quote}`,
        );
      writeAtomic(compiledPath(rel), js);
    }),
  );
}

const current = sources();
let compiled = {};
try {
  compiled = JSON.parse(readFileSync(manifestFile, 'utf8'));
} catch {
  // First start, or a cache someone removed: everything is compiled.
}
const stale = [...current]
  .filter(([rel, stamp]) => compiled[rel] !== stamp || !existsSync(compiledPath(rel)))
  .map(([rel]) => rel);
let runCompiled = true;
if (stale.length) {
  try {
    await compile(stale);
    if (!existsSync(join(out, 'package.json'))) writeAtomic(join(out, 'package.json'), '{ "type": "module" }\n');
    writeAtomic(manifestFile, JSON.stringify(Object.fromEntries(current)));
  } catch (err) {
    // A read-only install (an image whose node_modules belongs to root) runs the sources through
    // tsx, as before: slower to start, the same command. The Dockerfile compiles at build time.
    if (!['EACCES', 'EROFS', 'EPERM'].includes(err?.code)) throw err;
    runCompiled = false;
  }
}

const script = join(root, 'scripts', `${name}.ts`);
process.argv = [process.argv[0], script, ...args];
if (runCompiled) {
  await import(pathToFileURL(compiledPath(`scripts/${name}.ts`)).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(script).href);
}
