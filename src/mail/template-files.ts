import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { TemplateError } from './placeholders.ts';

/**
 * Reads a template and inlines its <mj-include>s itself: MJML's own include would read the partial
 * at compile time, out of reach of what is done to the source before (its link placeholders
 * probed, its values filled for the reference compile).
 */
export async function readTemplate(dir: string, file: string): Promise<string> {
  const source = await readInside(dir, file);
  const includes = [...source.matchAll(/<mj-include\s+path="([^"]+)"\s*\/>/g)];
  const partials = await Promise.all(includes.map((m) => readInside(dir, m[1]!)));
  let i = 0;
  const inlined = source.replace(/<mj-include\s+path="([^"]+)"\s*\/>/g, () => partials[i++]!);
  if (inlined.includes('<mj-include'))
    throw new TemplateError(`${file}: write includes as <mj-include path="./partials/name.mjml" />`);
  return inlined;
}

async function readInside(dir: string, file: string): Promise<string> {
  const path = resolve(dir, file);
  const rel = relative(resolve(dir), path);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new TemplateError(`${file}: outside the templates folder`);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new TemplateError(`cannot read template ${file}: ${(err as Error).message}`, { cause: err });
  }
}
