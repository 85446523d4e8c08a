import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isCalendarDate } from './domain/dates.ts';

/** What the operator CLIs (scripts/*.ts) share: exit codes, usage errors, --help. */

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** True when the module at `url` (its import.meta.url) is the script node was started with, not an import. */
export function isEntryPoint(url: string): boolean {
  const script = process.argv[1];
  return script !== undefined && existsSync(script) && pathToFileURL(realpathSync(script)).href === url;
}

/** The command line is wrong: the CLI prints the message and its usage, and exits 2. */
export class UsageError extends Error {}

/**
 * Runs a CLI's main: `-h`/`--help` prints the usage (exit 0); a UsageError, or node's own
 * parseArgs error for an unknown or malformed option, prints the problem and the usage (exit 2).
 */
export async function runCli(
  name: string,
  usage: string,
  argv: string[],
  main: (argv: string[]) => Promise<number> | number,
): Promise<number> {
  endQuietlyWhenTheReaderLeaves();
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(usage);
    return EXIT_OK;
  }
  try {
    return await main(argv);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (!(err instanceof UsageError) && !code.startsWith('ERR_PARSE_ARGS_')) throw err;
    console.error(`${name}: ${(err as Error).message}\n\n${usage}`);
    return EXIT_USAGE;
  }
}

/**
 * A reader that closed the pipe (`subscribers export | head -1`) has what it wanted: end with the
 * status so far (0 while the work went well), not with an EPIPE stack.
 */
function endQuietlyWhenTheReaderLeaves(): void {
  for (const stream of [process.stdout, process.stderr]) {
    // Once per process, though a test may run several CLIs in it.
    if (stream.listeners('error').includes(endOnEpipe)) continue;
    stream.on('error', endOnEpipe);
  }
}

function endOnEpipe(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? EXIT_OK);
}

/** A `--date` value, checked: a real calendar day as YYYY-MM-DD. */
export function dateArgument(value: string | undefined): string | undefined {
  if (value !== undefined && !isCalendarDate(value))
    throw new UsageError(`--date must be a real day as YYYY-MM-DD, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Calls `onGone` once when the process that launched this one dies. `npm run X` runs npm → sh →
 * tsx → node; a `kill -9` of npm leaves sh, tsx and this node running, each still the child of
 * the next, so a change of process.ppid alone never comes. Where /proc exists, every process of
 * the launch chain is watched: the ancestors that share this run's `npm_lifecycle_event`, and npm
 * above them (only the parent, for a CLI run without npm). A process that is gone, or that was
 * re-parented (its own parent died), ends the watch, as does a chain found broken at the start
 * (npm died while this process was loading). Beyond npm nothing is watched, so a run under nohup
 * outlives the terminal that started it.
 */
export function onLauncherExit(onGone: () => void, everyMs = 1_000): void {
  const { chain, broken } = launchChain();
  if (broken) return void setImmediate(onGone);
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent && chain.every((p) => parentOf(p.pid) === p.ppid)) return;
    clearInterval(timer);
    onGone();
  }, everyMs);
  timer.unref();
}

function launchChain(): { chain: { pid: number; ppid: number }[]; broken: boolean } {
  const chain: { pid: number; ppid: number }[] = [];
  const event = process.env.npm_lifecycle_event;
  for (let pid = process.ppid; ;) {
    // Still inside npm's script and already at init: npm, or a process below it, is gone.
    if (pid <= 1) return { chain, broken: event !== undefined };
    const ppid = parentOf(pid);
    if (ppid === undefined) return { chain, broken: true };
    chain.push({ pid, ppid });
    if (!event || lifecycleEventOf(pid) !== event) return { chain, broken: false };
    pid = ppid;
  }
}

/** The parent of a live process, from /proc (undefined when it is gone, a zombie, or there is no /proc). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return state === 'Z' ? undefined : Number(ppid);
  } catch {
    return undefined;
  }
}

function lifecycleEventOf(pid: number): string | undefined {
  try {
    const vars = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return vars.find((v) => v.startsWith('npm_lifecycle_event='))?.slice('npm_lifecycle_event='.length);
  } catch {
    return undefined;
  }
}
