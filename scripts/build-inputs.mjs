// What dist/ is built from, and whether it still matches: a hash of the contents of every input
// (never modification times, which copies and checkouts scramble). Shared by the build
// (scripts/build.mjs), which records it, and the launcher (scripts/launch.mjs), which compares.
// Plain JavaScript with no packages: it runs in a production install, which has no build tools.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The folders and files the build reads; a change to any of them makes another dist/. */
const FOLDERS = ['src', 'scripts', 'templates', 'migrations'];
const FILES = ['package.json', 'package-lock.json', 'tsconfig.json'];
/** Bumped when what the hash covers changes meaning. */
const FORMAT = 'paperboy-dist-inputs/1';

/** The record the build leaves in dist/. */
export const RECORD = 'build.json';

/**
 * The hash of the inputs under `root`; undefined where the sources are not there (an image
 * ships dist/ alone), as nothing can then be compared.
 */
export function inputsHash(root) {
  if (!existsSync(join(root, 'src'))) return undefined;
  const hash = createHash('sha256').update(FORMAT);
  const files = [...FILES.filter((f) => existsSync(join(root, f))), ...FOLDERS.flatMap((d) => filesUnder(root, d))];
  for (const rel of files.sort()) hash.update(`\0${rel}\0`).update(readFileSync(join(root, rel)));
  return hash.digest('hex');
}

/** The inputs' hash dist/ was built from; undefined when there is no complete build. */
export function builtHash(dist) {
  try {
    return JSON.parse(readFileSync(join(dist, RECORD), 'utf8')).inputs;
  } catch {
    return undefined;
  }
}

/**
 * Every file under `dir`, relative to `root`, at any depth. Walked one folder at a time, which is
 * cheaper than readdirSync's `recursive` option: every command's start walks them.
 */
export function filesUnder(root, dir) {
  if (!existsSync(join(root, dir))) return [];
  const files = [];
  const walk = (rel) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = join(rel, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  walk(dir);
  return files;
}
