import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * The templates as MJML compiled them: by `npm run build` into dist/, or, run from the sources,
 * kept between starts. Loading MJML and compiling with it cost a process much memory
 * (docs/architecture.md, what the hot paths cost), yet the compiled HTML depends only on the template
 * sources and MJML's version: every value is filled in afterwards. A start that finds them
 * compiled from the same sources by the same MJML loads no MJML at all; they were checked when
 * they were compiled (templates.ts), so the check holds for them too.
 */
/** The attributes MJML's CSS inlining gives a link in each placeholder that holds links (templates.ts). */
const anchorsSchema = z.object({ reason: z.string().optional(), links: z.string().optional() });
const templateSchema = z.object({ html: z.string(), anchors: anchorsSchema });
const compiledSchema = z.object({
  key: z.string(),
  /** The digest around its cards, and one card, which still holds {{rank}} (digest-pieces.ts). */
  shell: z.object({ head: z.string(), tail: z.string(), anchors: anchorsSchema }),
  card: templateSchema,
  confirm: templateSchema,
  already: templateSchema,
});
export type Anchors = z.infer<typeof anchorsSchema>;
export type CompiledTemplate = z.infer<typeof templateSchema>;
export type CompiledTemplates = Omit<z.infer<typeof compiledSchema>, 'key'>;

const FILE = 'compiled-templates.json';

/** Where a service or CLI whose database is `databasePath` keeps them: beside it (none for `:memory:`). */
export const templateCacheDir = (databasePath: string): string | undefined =>
  databasePath === ':memory:' ? undefined : join(dirname(databasePath), 'cache');

/** The file in `cacheDir` that holds them. */
export const compiledTemplatesFile = (cacheDir: string) => join(cacheDir, FILE);
/**
 * Where `npm run build` puts them: in dist/, beside this module's compiled twin, compiled from the
 * templates copied beside them by the same build (scripts/build.mjs). Run from the sources, there
 * is no such file.
 * @public scripts/build.mjs imports it from dist/, by a path knip cannot follow.
 */
export const builtTemplatesFile = fileURLToPath(new URL(`../../${FILE}`, import.meta.url));
/** Bumped when what is stored changes shape or meaning. */
const FORMAT = 'paperboy-compiled-templates/1';

/**
 * What the templates compile to: the build's (a production install has no MJML to compile them
 * with); else read from `cacheDir` when compiled from these sources, else built and kept there.
 */
export async function compiledTemplates(
  sources: readonly string[],
  cacheDir: string | undefined,
  build: () => Promise<CompiledTemplates>,
): Promise<CompiledTemplates> {
  const shipped = read(builtTemplatesFile);
  if (shipped) return shipped;
  const mjmlVersion = (createRequire(import.meta.url)('mjml/package.json') as { version: string }).version;
  const hash = createHash('sha256').update(`${FORMAT}\0${mjmlVersion}`);
  for (const source of sources) hash.update(`\0${source}`);
  const key = hash.digest('hex');
  const path = cacheDir === undefined ? undefined : compiledTemplatesFile(cacheDir);
  const cached = path === undefined ? null : read(path, key);
  if (cached) return cached;
  const built = await build();
  if (path !== undefined) keep(path, { key, ...built });
  return built;
}

/** The set kept in `path`, when it was compiled from the sources `key` stands for (any, when no key is given). */
function read(path: string, key?: string): CompiledTemplates | null {
  try {
    const { key: found, ...compiled } = compiledSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
    return key === undefined || found === key ? compiled : null;
  } catch {
    // Missing, half-written by a crash, or from an older format: compiled again.
    return null;
  }
}

/** Written beside and renamed, so a start running alongside never reads half a file. */
function keep(path: string, stored: z.infer<typeof compiledSchema>): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(temp, JSON.stringify(stored));
    renameSync(temp, path);
  } catch {
    // Only a saving: the next start compiles again. The database beside it reports a folder that
    // cannot be written.
  }
}
