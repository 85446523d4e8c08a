import { parseArgs } from 'node:util';
import { DIGEST_SIZES, isDigestSize, loadConfig, type Config } from '../src/config.ts';
import { openDatabase, type Db } from '../src/db/connection.ts';
import { migrate } from '../src/db/migrate.ts';
import { CHANNEL_KINDS, createChannelsStore, type ChannelKind, type ChannelsStore } from '../src/db/channels-store.ts';
import { EXIT_FAILED, EXIT_OK, isEntryPoint, runCli, UsageError } from '../src/cli.ts';
import { kindOfUrl } from '../src/channels/formats.ts';
import { maskUrl } from '../src/channels/poster.ts';

const USAGE = `Usage: npm run channels -- COMMAND

Team channels get each edition as a post: Slack and Discord incoming webhooks, or any URL that
takes the edition as a JSON document (docs/operating.md describes it). A webhook URL is a secret:
it is shown masked.

  add URL [--kind slack|discord|json] [--cadence daily|weekly] [--size 5|10|20] [--keywords K]
                  add a channel. The kind is taken from the URL (hooks.slack.com: slack;
                  discord.com/api/webhooks: discord; anything else: json) unless --kind says.
                  --cadence: the daily digest (default) or the weekly edition; --size: how many
                  papers (default DIGEST_SIZE); --keywords: comma-separated, as a reader's.
  list            every channel: id, kind, cadence, size, keywords, state, masked URL
  remove ID       remove a channel and its posting record
  test ID         post a sample now (the latest edition as the channel would get it)
  -h, --help      show this help

Exit status: 0 ok, 1 failed (unknown channel, URL already added, the test post failed),
2 usage error.`;

const COMMANDS = ['add', 'list', 'remove', 'test'];

/** The arguments, checked before the database is opened. */
function parseCommand(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      kind: { type: 'string' },
      cadence: { type: 'string' },
      size: { type: 'string' },
      keywords: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
  const [command, ...rest] = positionals;
  if (!command) throw new UsageError('a command is needed');
  if (!COMMANDS.includes(command)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  const flags = Object.keys(values);
  if (command !== 'add' && flags.length) throw new UsageError(`--${flags[0]} applies to add only`);
  if (rest.length !== 1 && command !== 'list')
    throw new UsageError(`${command} takes one ${command === 'add' ? 'URL' : 'ID'}`);
  if (command === 'list' && rest.length) throw new UsageError('list takes no arguments');
  if (command === 'add') return { command: 'add', add: addOptions(rest[0]!, values) } as const;
  if (command === 'list') return { command: 'list' } as const;
  const id = Number(rest[0]);
  if (!Number.isInteger(id) || id < 1) throw new UsageError(`not a channel id: ${JSON.stringify(rest[0])}`);
  return { command: command as 'remove' | 'test', id };
}

function addOptions(raw: string, o: { kind?: string; cadence?: string; size?: string; keywords?: string }) {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError('the URL is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError('the URL must be https: (or http:)');
  if (o.kind !== undefined && !(CHANNEL_KINDS as readonly string[]).includes(o.kind))
    throw new UsageError(`--kind must be one of ${CHANNEL_KINDS.join(', ')}, got ${JSON.stringify(o.kind)}`);
  if (o.cadence !== undefined && o.cadence !== 'daily' && o.cadence !== 'weekly')
    throw new UsageError(`--cadence must be daily or weekly, got ${JSON.stringify(o.cadence)}`);
  const size = o.size === undefined ? undefined : Number(o.size);
  if (size !== undefined && !isDigestSize(size))
    throw new UsageError(`--size must be one of ${DIGEST_SIZES.join(', ')}, got ${JSON.stringify(o.size)}`);
  return {
    url: url.href,
    kind: (o.kind as ChannelKind | undefined) ?? kindOfUrl(url),
    cadence: (o.cadence ?? 'daily') as 'daily' | 'weekly',
    size,
    keywords: o.keywords?.trim() ?? '',
  };
}

type Command = ReturnType<typeof parseCommand>;

async function main(argv: string[]): Promise<number> {
  const command = parseCommand(argv);
  let db: Db | undefined;
  try {
    const config = loadConfig();
    db = openDatabase(config.DATABASE_PATH);
    migrate(db);
    return await run(command, createChannelsStore(db), db, config);
  } catch (err) {
    console.error(`channels ${command.command} failed: ${(err as Error).message}`);
    return EXIT_FAILED;
  } finally {
    db?.close();
  }
}

async function run(c: Command, store: ChannelsStore, db: Db, config: Config): Promise<number> {
  switch (c.command) {
    case 'add': {
      const { url, kind, cadence, size, keywords } = c.add;
      const digestSize = size ?? config.DIGEST_SIZE;
      const id = store.add({ kind, url, cadence, digestSize, keywords }, new Date());
      if (id === undefined) {
        console.error(`channels add: that URL is already channel ${store.idOfUrl(url)}`);
        return EXIT_FAILED;
      }
      console.log(
        `channel ${id} added: ${kind}, ${cadence}, ${digestSize} papers${keywords ? `, keywords ${keywords}` : ''}, ${maskUrl(url)}`,
      );
      return EXIT_OK;
    }
    case 'list':
      console.log(['id', 'kind', 'cadence', 'size', 'keywords', 'state', 'url'].join('\t'));
      for (const ch of store.list()) {
        const state = ch.enabled ? 'enabled' : `disabled: ${ch.disabledReason ?? 'no reason recorded'}`;
        console.log([ch.id, ch.kind, ch.cadence, ch.digestSize, ch.keywords || '-', state, maskUrl(ch.url)].join('\t'));
      }
      return EXIT_OK;
    case 'remove':
      if (!store.remove(c.id)) return noSuchChannel(c.id);
      console.log(`channel ${c.id} removed`);
      return EXIT_OK;
    default:
      return testPost(store, db, config, c.id);
  }
}

/** `test`: a sample post now, outside the posting record. */
async function testPost(store: ChannelsStore, db: Db, config: Config, id: number): Promise<number> {
  const channel = store.byId(id);
  if (!channel) return noSuchChannel(id);
  const [{ postSample }, { createDigestsStore }, { createLogger }] = await Promise.all([
    import('../src/channels/post-edition.ts'),
    import('../src/db/digests-store.ts'),
    import('../src/logger.ts'),
  ]);
  const outcome = await postSample(
    {
      channels: store,
      digests: createDigestsStore(db),
      poster: {
        fetch: globalThis.fetch,
        clock: { now: () => new Date() },
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      },
      logger: createLogger(config.LOG_LEVEL, 'stderr'),
      publicUrl: config.PUBLIC_URL,
    },
    channel,
  );
  if (outcome.result === 'posted') {
    console.log(`channel ${id}: sample posted (HTTP ${outcome.status})`);
    return EXIT_OK;
  }
  console.error(
    outcome.result === 'gone'
      ? `channel ${id}: the webhook is gone (HTTP ${outcome.status}): channel disabled; add its new URL`
      : `channel ${id}: the sample was not posted: ${outcome.error}`,
  );
  return EXIT_FAILED;
}

function noSuchChannel(id: number): number {
  console.error(`no channel ${id} (npm run channels -- list shows them)`);
  return EXIT_FAILED;
}

/** The whole CLI, --help and usage errors included: the tests run it in their own process. */
export const cli = (argv: string[]) => runCli('channels', USAGE, argv, main);

if (isEntryPoint(import.meta.url)) process.exitCode = await cli(process.argv.slice(2));
