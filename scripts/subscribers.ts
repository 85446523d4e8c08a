import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Config, DigestSize } from '../src/config.ts';
import type { Db } from '../src/db/connection.ts';
import type { createSubscriberAdminStore, SubscriberAdminStore } from '../src/db/subscriber-admin-store.ts';
import { EXIT_FAILED, EXIT_OK, isEntryPoint, runCli, UsageError } from '../src/cli.ts';
import type { SuppressionList } from '../src/db/suppressions-store.ts';
import type { Logger } from '../src/logger.ts';

const USAGE = `Usage: npm run subscribers -- COMMAND

  import FILE.csv   add the file's subscribers as confirmed. Columns: email (required),
                    digest_size (5, 10 or 20; default DIGEST_SIZE), keywords (comma-separated, quoted),
                    cadence (daily or weekly; default daily), timezone (an IANA zone such as
                    Europe/Berlin) and delivery_hour (5 to 11), both empty for the list's
                    DIGEST_TZ and DIGEST_CRON hour; others are ignored. Addresses already on
                    the list are left as they are (an import never re-subscribes anyone);
                    suppressed addresses (bounces, complaints) are skipped and named. Every
                    invalid row is reported with its line number, and then nothing is imported.
  export            the confirmed subscribers as CSV
                    (email,digest_size,keywords,cadence,timezone,delivery_hour) on stdout:
                    the format import reads
  list              every subscriber with status, size, keywords, dates, cadence, time zone and
                    delivery hour
  count             subscribers per status
  remove EMAIL      erase every trace of the address: its subscription and delivery history,
                    mail queued to it, bounce events and quarantined reports about it or quoting
                    it, its outbox files (a suppression stays, as a keyed hash); with
                    BOUNCE_IMAP_URL, also the messages quoting it in the mailbox's
                    BOUNCE_IMAP_QUARANTINE folder. The bounce mailbox itself is the mail server's
                    to clean.
  unsuppress EMAIL  undo a wrong suppression by bounces: the reader gets digests again, the
                    address leaves the suppression list, and their soft bounces count afresh from
                    today. Never for someone who complained or unsubscribed: only they can sign
                    up again, through the form.
  -h, --help        show this help

Exit status: 0 ok, 1 failed (invalid rows, unknown address, IMAP server out of reach, an address
that cannot be unsuppressed), 2 usage error.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = parseArgs({ args: argv, options: {}, strict: true, allowPositionals: true }).positionals;
  if (!command) throw new UsageError('a command is needed');
  if (!['import', 'export', 'list', 'count', 'remove', 'unsuppress'].includes(command))
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  const byAddress = command === 'remove' || command === 'unsuppress';
  const [expected, what] =
    command === 'import' ? [1, 'one file'] : byAddress ? [1, 'one address'] : [0, 'no arguments'];
  if (rest.length !== expected) throw new UsageError(`${command} takes ${what}`);
  // Imported once the arguments are checked: --help and a usage error load no package.
  const email = byAddress
    ? (await import('../src/domain/subscriber-input.ts')).emailSchema.safeParse(rest[0])
    : undefined;
  if (email && !email.success) throw new UsageError(`not an email address: ${JSON.stringify(rest[0])}`);
  const [{ loadConfig }, { openDatabase }, { migrate }, { createSubscriberAdminStore }] = await Promise.all([
    import('../src/config.ts'),
    import('../src/db/connection.ts'),
    import('../src/db/migrate.ts'),
    import('../src/db/subscriber-admin-store.ts'),
  ]);

  let db: Db | undefined;
  try {
    const config = loadConfig();
    db = openDatabase(config.DATABASE_PATH);
    migrate(db);
    const store = createSubscriberAdminStore(db);
    // Only import, remove and unsuppress need SECRET (suppressed addresses are kept as keyed hashes).
    // Imported only by the commands that use them: `count` and `list` start without them.
    const suppressions = async () => {
      const [{ openSuppressionList }, { resolveSecret }, { createLogger }] = await Promise.all([
        import('../src/db/suppressions-store.ts'),
        import('../src/secret.ts'),
        import('../src/logger.ts'),
      ]);
      const logger = createLogger(config.LOG_LEVEL, 'stderr');
      const secret = resolveSecret(config.SECRET, config.DATABASE_PATH, logger);
      return { list: openSuppressionList(db!, secret), secret, logger };
    };
    const csv = () => import('../src/domain/subscriber-import.ts');
    switch (command) {
      case 'import':
        return importFile(store, (await suppressions()).list, (await csv()).planImport, rest[0]!, config.DIGEST_SIZE);
      case 'export':
        return exportConfirmed(store, (await csv()).csvField);
      case 'list':
        return listAll(store);
      case 'count':
        return printCounts(store);
      case 'unsuppress': {
        const { list, logger } = await suppressions();
        return await restore(db, list, logger, email!.data!);
      }
      default: {
        // 'remove', the one command left; its address was checked with the arguments.
        const { list, secret } = await suppressions();
        return await remove({ db, suppressions: list, secret, config }, email!.data!);
      }
    }
  } catch (err) {
    console.error(`subscribers ${command} failed: ${(err as Error).message}`);
    return EXIT_FAILED;
  } finally {
    db?.close();
  }
}

/** `export`: the confirmed subscribers as CSV, in the columns `import` reads. */
function exportConfirmed(store: SubscriberAdminStore, csvField: (value: string) => string): number {
  const out = ['email,digest_size,keywords,cadence,timezone,delivery_hour'];
  for (const s of store.list({ confirmedOnly: true })) {
    out.push(
      `${csvField(s.email)},${s.digestSize},${csvField(s.keywords)},${s.cadence},${s.timezone ?? ''},${s.deliveryHour ?? ''}`,
    );
    if (out.length >= 10_000) flush(out);
  }
  flush(out);
  return EXIT_OK;
}

/** `list`: every subscriber, tab-separated. */
function listAll(store: SubscriberAdminStore): number {
  // New columns come last: scripts that cut the columns by position keep working.
  const out = [
    [
      'id',
      'email',
      'status',
      'size',
      'keywords',
      'confirmed_at',
      'created_at',
      'cadence',
      'timezone',
      'delivery_hour',
    ].join('\t'),
  ];
  for (const s of store.list({ confirmedOnly: false })) {
    const { id, email, status, digestSize, keywords, confirmedAt, createdAt, cadence, timezone, deliveryHour } = s;
    out.push(
      [
        id,
        email,
        status,
        digestSize,
        keywords || '-',
        confirmedAt ?? '-',
        createdAt,
        cadence,
        timezone ?? '-',
        deliveryHour ?? '-',
      ].join('\t'),
    );
    if (out.length >= 10_000) flush(out);
  }
  flush(out);
  return EXIT_OK;
}

/** `count`: subscribers per status, and in all. */
function printCounts(store: SubscriberAdminStore): number {
  const counts = store.counts();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  for (const status of ['confirmed', 'pending', 'unsubscribed', 'suppressed'])
    console.log(`${status.padEnd(13)}${counts[status] ?? 0}`);
  console.log(`${'total'.padEnd(13)}${total}`);
  return EXIT_OK;
}

/**
 * `remove`: the database and the outbox first, then the mailbox's quarantine folder, whose server
 * may be out of reach: that is reported after the local erasure, which stands.
 */
async function remove(
  deps: { db: Db; suppressions: SuppressionList; secret: string; config: Config },
  address: string,
): Promise<number> {
  const [{ eraseAddress }, { erasureDeps }] = await Promise.all([
    import('../src/domain/erasure.ts'),
    import('../src/context.ts'),
  ]);
  deps.suppressions.keepBeforeRemoval(address);
  const erased = eraseAddress(erasureDeps(deps), address);
  if (!erased.checkpointed) {
    // Every remove truncates the WAL, even one that finds nothing left to erase.
    console.error(
      'warning: another process kept reading the database, so old copies may stay in its WAL file until overwritten; run this remove again later',
    );
  }
  if (erased.found) {
    const also = [
      erased.outboxFiles && `${erased.outboxFiles} outbox file(s)`,
      erased.bounceEvents && `${erased.bounceEvents} bounce event(s)`,
      erased.quarantined && `${erased.quarantined} quarantined report(s)`,
    ].filter(Boolean);
    const what = erased.subscriber
      ? 'removed, with its delivery history and mail'
      : 'not on the list; the mail and reports holding it removed';
    console.log(`${address} ${what}${also.length ? `, and ${also.join(', ')}` : ''}`);
  } else console.error(`${address} is not on the list`);
  const imapDeleted = deps.config.BOUNCE_IMAP_URL
    ? await eraseFromMailbox(deps.config.BOUNCE_IMAP_URL, deps.config.BOUNCE_IMAP_QUARANTINE, address)
    : 0;
  if (imapDeleted === undefined) return EXIT_FAILED;
  return erased.found || imapDeleted > 0 ? EXIT_OK : EXIT_FAILED;
}

/** `unsuppress`: a reader suppressed by bounces gets digests again; refused for a complaint or an unsubscribe. */
async function restore(db: Db, suppressions: SuppressionList, logger: Logger, address: string): Promise<number> {
  const [{ unsuppress }, { createBounceStore }, { createSubscribersStore }, { systemClock }, { DomainError }] =
    await Promise.all([
      import('../src/bounces/unsuppress.ts'),
      import('../src/bounces/events-store.ts'),
      import('../src/db/subscribers-store.ts'),
      import('../src/clock.ts'),
      import('../src/errors.ts'),
    ]);
  const deps = {
    bounces: createBounceStore(db),
    subscribers: createSubscribersStore(db),
    suppressions,
    clock: systemClock,
    logger,
  };
  try {
    const r = unsuppress(deps, address);
    const was = r.was ? ` (suppressed for: ${r.was})` : '';
    console.log(`${r.email} is ${r.status} again${was}; their bounces count afresh from ${r.countedFrom}`);
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    console.error(`subscribers unsuppress: ${err.message}`);
    return EXIT_FAILED;
  }
}

/**
 * The messages quoting the address in the mailbox's quarantine folder: how many were deleted, or
 * undefined when the server could not be reached (said on stderr). Either way, what stays on the
 * mail server is said too.
 */
async function eraseFromMailbox(url: string, folder: string, address: string): Promise<number | undefined> {
  const [imap, { imapMailbox }] = await Promise.all([
    import('../src/bounces/sources/imap-quarantine-erasure.ts'),
    import('../src/bounces/sources/imap-poller.ts'),
  ]);
  const mailbox = imapMailbox(url);
  const where = `${folder} on ${mailbox.options.host}`;
  let deleted: number | undefined;
  try {
    deleted = await imap.eraseFromImapQuarantine(url, folder, address);
    console.log(
      deleted
        ? `IMAP quarantine folder ${where}: ${deleted} message(s) holding the address deleted`
        : `IMAP quarantine folder ${where}: no message holds the address`,
    );
  } catch (err) {
    console.error(
      `subscribers remove: IMAP quarantine folder ${where} not cleaned: ${(err as Error).message}; the local erasure is done: run this remove again once the server answers`,
    );
  }
  console.log(
    `The bounce mailbox itself (${mailbox.path} on ${mailbox.options.host}) and the mail server's other copies (other folders, backups, logs) are the mail server's to clean: this command does not touch them.`,
  );
  return deleted;
}

function importFile(
  store: ReturnType<typeof createSubscriberAdminStore>,
  suppressions: SuppressionList,
  planImport: typeof import('../src/domain/subscriber-import.ts').planImport,
  file: string,
  defaultDigestSize: DigestSize,
): number {
  const started = performance.now();
  const plan = planImport(readFileSync(file, 'utf8'), defaultDigestSize);
  if (plan.problems.length) {
    for (const p of plan.problems) console.error(`${file}:${p.line}: ${p.message}`);
    console.error(
      `${plan.problems.length} invalid ${plan.problems.length === 1 ? 'row' : 'rows'}: nothing imported. Fix them and import the file again.`,
    );
    return EXIT_FAILED;
  }
  // A bounce or complaint outlives the row: only a new sign-up through the form lifts it.
  const rows = plan.rows.filter((r) => {
    const reason = suppressions.reasonFor(r.email)?.reason;
    if (reason) console.error(`${file}:${r.line}: ${r.email} is suppressed (${reason}): skipped`);
    return reason === undefined;
  });
  const suppressed = plan.rows.length - rows.length;
  const { imported, alreadyListed } = store.importConfirmed(rows, new Date());
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  const notes = [
    suppressed && `${suppressed} suppressed (skipped)`,
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

/** The whole CLI, --help and usage errors included: the tests run it in their own process. */
export const cli = (argv: string[]) => runCli('subscribers', USAGE, argv, main);

if (isEntryPoint(import.meta.url)) process.exitCode = await cli(process.argv.slice(2));
