/** npm run migrate: applies the pending migrations in migrations/ and says which. */
import { parseArgs } from 'node:util';
import { EXIT_FAILED, EXIT_OK, isEntryPoint, runCli } from '../src/cli.ts';

const USAGE = `Usage: npm run migrate

Applies every migration in migrations/ not yet applied to DATABASE_PATH, in order, each in its
own transaction (start-up does the same).

Exit status: 0 ok, 1 failed, 2 usage error.`;

async function main(argv: string[]): Promise<number> {
  parseArgs({ args: argv, options: {}, strict: true, allowPositionals: false });
  // Imported once the arguments are checked: --help and a usage error load no package.
  const [{ loadConfig, ConfigError }, { openDatabase }, { migrate }] = await Promise.all([
    import('../src/config.ts'),
    import('../src/db/connection.ts'),
    import('../src/db/migrate.ts'),
  ]);
  try {
    const config = loadConfig();
    const db = openDatabase(config.DATABASE_PATH);
    const applied = migrate(db);
    db.close();
    console.log(
      applied.length ? `applied: ${applied.join(', ')}` : `nothing to apply: ${config.DATABASE_PATH} is up to date`,
    );
    return EXIT_OK;
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `migration failed: ${(err as Error).message}`);
    return EXIT_FAILED;
  }
}

/** The whole CLI, --help and usage errors included: the tests run it in their own process. */
export const cli = (argv: string[]) => runCli('migrate', USAGE, argv, main);

if (isEntryPoint(import.meta.url)) process.exitCode = await cli(process.argv.slice(2));
