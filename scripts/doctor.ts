/** npm run doctor: checks the configuration end to end, one line per check. */
import { Resolver } from 'node:dns/promises';
import { parseArgs } from 'node:util';
import { EXIT_FAILED, EXIT_OK, isEntryPoint, runCli } from '../src/cli.ts';

const USAGE = `Usage: npm run doctor

Checks the configuration end to end, without sending mail or changing data, and prints one line
per check (ok, FAIL or skip):

  config      every variable parses (the same check as start-up)
  database    DATABASE_PATH opens and takes a write (rolled back); pending migrations
  smtp        SMTP_URL answers: greeting, EHLO, STARTTLS when offered, AUTH when a user is set
  mail        (without SMTP_URL) OUTBOX_DIR is writable
  public url  PUBLIC_URL/healthz answers 200 from this service
  dkim        the TXT record <DKIM_SELECTOR>._domainkey.<DKIM_DOMAIN> holds the public key of
              DKIM_PRIVATE_KEY_PATH; skipped when DKIM is not configured or DNS is unreachable

Exit status: 0 every check ok or skipped, 1 a check failed, 2 usage error.`;

const TIMEOUT_MS = 5_000;

async function main(argv: string[]): Promise<number> {
  parseArgs({ args: argv, options: {}, strict: true, allowPositionals: false });
  // Imported once the arguments are checked: --help and a usage error load no package.
  const [{ loadConfig, ConfigError }, { runChecks }] = await Promise.all([
    import('../src/config.ts'),
    import('../src/doctor/checks.ts'),
  ]);
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.log(line('fail', 'config', err.message));
    return EXIT_FAILED;
  }
  console.log(line('ok', 'config', 'every variable is valid'));
  const resolver = new Resolver({ timeout: TIMEOUT_MS, tries: 1 });
  const results = await runChecks(config, { resolveTxt: (name) => resolver.resolveTxt(name), timeoutMs: TIMEOUT_MS });
  for (const r of results) console.log(line(r.outcome, r.name, r.detail));
  return results.some((r) => r.outcome === 'fail') ? EXIT_FAILED : EXIT_OK;
}

const line = (outcome: 'ok' | 'fail' | 'skip', name: string, detail: string) =>
  `${(outcome === 'fail' ? 'FAIL' : outcome).padEnd(5)}${name.padEnd(12)}${detail}`;

/** The whole CLI, --help and usage errors included: the tests run it in their own process. */
export const cli = (argv: string[]) => runCli('doctor', USAGE, argv, main);

if (isEntryPoint(import.meta.url)) process.exitCode = await cli(process.argv.slice(2));
