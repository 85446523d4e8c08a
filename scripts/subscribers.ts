import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { openDatabase, type Db } from '../src/db/connection.ts';
import { migrate } from '../src/db/migrate.ts';
import { createSubscriberAdminStore } from '../src/db/subscriber-admin-store.ts';
import { csvField, planImport } from '../src/domain/subscriber-import.ts';
import { emailSchema } from '../src/domain/subscriber-input.ts';

const USAGE = `Usage: npm run subscribers -- COMMAND

  import FILE.csv   add the file's subscribers as confirmed. Columns: email (required),
                    digest_size (5, 10 or 20; default 10), keywords (comma-separated, quoted);
                    others are ignored. Addresses already on the list are left as they are
                    (an import never re-subscribes anyone). Every invalid row is reported with
                    its line number, and then nothing is imported.
  export            the confirmed subscribers as CSV (email,digest_size,keywords) on stdout:
                    the format import reads
  list              every subscriber with status, size, keywords and dates
  count             subscribers per status
  remove EMAIL      erase the address and its delivery history
  -h, --help        show this help

Exit status: 0 ok, 1 failed (invalid rows, unknown address), 2 usage error.`;

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

function usageError(message: string): number {
  console.error(`subscribers: ${message}\n\n${USAGE}`);
  return EXIT_USAGE;
}

function main(argv: string[]): number {
  let parsed: { values: { help?: boolean | undefined }; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return EXIT_OK;
  }
  const [command, ...rest] = parsed.positionals;
  const expectArgs = (n: number, what: string) => (rest.length === n ? null : usageError(`${command} takes ${what}`));
  if (!command) return usageError('a command is needed');
  if (!['import', 'export', 'list', 'count', 'remove'].includes(command)) return usageError(`unknown command ${JSON.stringify(command)}`);
  const wrongArgs = command === 'import' ? expectArgs(1, 'one file') : command === 'remove' ? expectArgs(1, 'one address') : expectArgs(0, 'no arguments');
  if (wrongArgs !== null) return wrongArgs;

  let db: Db | undefined;
  try {
    const config = loadConfig();
    db = openDatabase(config.DATABASE_PATH);
    migrate(db);
    const store = createSubscriberAdminStore(db);
    switch (command) {
      case 'import':
        return importFile(store, rest[0]!);
      case 'export': {
        const out = ['email,digest_size,keywords'];
        for (const s of store.list({ confirmedOnly: true })) {
          out.push(`${csvField(s.email)},${s.digestSize},${csvField(s.keywords)}`);
          if (out.length >= 10_000) flush(out);
        }
        flush(out);
        return EXIT_OK;
      }
      case 'list': {
        const out = [['id', 'email', 'status', 'size', 'keywords', 'confirmed_at', 'created_at'].join('\t')];
        for (const s of store.list({ confirmedOnly: false })) {
          out.push([s.id, s.email, s.status, s.digestSize, s.keywords || '-', s.confirmedAt ?? '-', s.createdAt].join('\t'));
          if (out.length >= 10_000) flush(out);
        }
        flush(out);
        return EXIT_OK;
      }
      case 'count': {
        const counts = store.counts();
        const total = Object.values(counts).reduce((a, b) => a + b, 0);
        for (const status of ['confirmed', 'pending', 'unsubscribed', 'suppressed']) console.log(`${status.padEnd(13)}${counts[status] ?? 0}`);
        console.log(`${'total'.padEnd(13)}${total}`);
        return EXIT_OK;
      }
      case 'remove': {
        const email = emailSchema.safeParse(rest[0]);
        if (!email.success) return usageError(`not an email address: ${JSON.stringify(rest[0])}`);
        if (!store.remove(email.data)) {
          console.error(`${email.data} is not on the list`);
          return EXIT_FAILED;
        }
        console.log(`${email.data} removed, with its delivery history`);
        return EXIT_OK;
      }
    }
    return EXIT_USAGE;
  } catch (err) {
    console.error(`subscribers ${command} failed: ${(err as Error).message}`);
    return EXIT_FAILED;
  } finally {
    db?.close();
  }
}

function importFile(store: ReturnType<typeof createSubscriberAdminStore>, file: string): number {
  const started = performance.now();
  const plan = planImport(readFileSync(file, 'utf8'));
  if (plan.problems.length) {
    for (const p of plan.problems) console.error(`${file}:${p.line}: ${p.message}`);
    console.error(`${plan.problems.length} invalid ${plan.problems.length === 1 ? 'row' : 'rows'}: nothing imported. Fix them and import the file again.`);
    return EXIT_FAILED;
  }
  const { imported, alreadyListed } = store.importConfirmed(plan.rows, new Date());
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const notes = [
    alreadyListed && `${alreadyListed} already on the list (left as they were)`,
    plan.repeated && `${plan.repeated} repeated in the file`,
    plan.ignoredColumns.length && `ignored columns: ${plan.ignoredColumns.join(', ')}`,
  ].filter(Boolean);
  console.log(`${imported} imported as confirmed${notes.length ? `; ${notes.join('; ')}` : ''} (${seconds} s)`);
  return EXIT_OK;
}

function flush(lines: string[]): void {
  if (lines.length) process.stdout.write(lines.join('\n') + '\n');
  lines.length = 0;
}

process.exitCode = main(process.argv.slice(2));
