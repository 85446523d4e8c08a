/** npm run migrate: applies the pending migrations in migrations/ and says which. */
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from '../src/config.ts';
import { openDatabase } from '../src/db/connection.ts';
import { migrate } from '../src/db/migrate.ts';

const { values } = parseArgs({ options: { help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('usage: npm run migrate\n\nApplies every migration in migrations/ not yet applied to DATABASE_PATH, in order, each in its own transaction.');
  process.exit(0);
}
try {
  const config = loadConfig();
  const db = openDatabase(config.DATABASE_PATH);
  const applied = migrate(db);
  db.close();
  console.log(applied.length ? `applied: ${applied.join(', ')}` : `nothing to apply: ${config.DATABASE_PATH} is up to date`);
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `migration failed: ${(err as Error).message}`);
  process.exit(1);
}
