import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server-process.ts';

/**
 * A private Postfix (Debian's package) for tests: its own configuration, queue and data folders
 * in a temp folder, an smtpd on 127.0.0.1 only, and nothing delivered beyond the transport map
 * the test gives it (everything else is bounced by the error transport, never sent out).
 */
export interface PostfixInstance {
  /** smtp://127.0.0.1:<port> of its smtpd. */
  url: string;
  port: number;
  /** Its log so far (maillog_file): read it when something did not arrive. */
  log(): string;
  stop(): Promise<void>;
}

const POSTFIX = '/usr/sbin/postfix';

/** Why Postfix cannot run here, or null when it can. */
export function postfixUnavailable(): string | null {
  if (!existsSync(POSTFIX))
    return `${POSTFIX} is missing: install Debian's postfix package (apt-get install -y postfix; .ci/run does)`;
  if (process.getuid?.() !== 0)
    return 'a private Postfix instance must be started as root (its master runs its daemons as the postfix user)';
  return null;
}

export interface PostfixOptions {
  /**
   * Refusals of smtpd at RCPT TO, per address, as access(5) actions: e.g.
   * `{ 'gone@mx.test': '550 5.1.1 User unknown', 'pia@mx.test': 'REJECT Access denied' }`.
   */
  recipientAccess?: Record<string, string>;
  /** delay_warning_time: a delay notice goes to the sender once a message waited this long. */
  delayWarning?: string;
  /** More main.cf settings, e.g. `{ maximal_queue_lifetime: '0' }`. */
  settings?: Record<string, string>;
}

/** `transport` maps domains to Postfix transports, e.g. { 'dead.test': 'error:5.1.1 mailbox unavailable' }. */
export async function startPostfix(
  transport: Record<string, string>,
  o: PostfixOptions = {},
): Promise<PostfixInstance> {
  const missing = postfixUnavailable();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'paperboy-postfix-'));
  // The daemons run as the postfix user: they must be able to reach their folders.
  chmodSync(dir, 0o755);
  const conf = join(dir, 'conf');
  const data = join(dir, 'data');
  mkdirSync(conf);
  mkdirSync(join(dir, 'queue'));
  mkdirSync(data);
  const postfixUser = Number(execFileSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).trim());
  chownSync(data, postfixUser, 0);
  const port = await freePort();
  const maillog = join(dir, 'maillog');
  writeFileSync(
    join(conf, 'transport'),
    Object.entries(transport)
      .map(([domain, to]) => `${domain} ${to}\n`)
      .join(''),
  );
  writeFileSync(
    join(conf, 'recipient_access'),
    Object.entries(o.recipientAccess ?? {})
      .map(([address, action]) => `${address} ${action}\n`)
      .join(''),
  );
  writeFileSync(
    join(conf, 'main.cf'),
    `compatibility_level = 3.6
queue_directory = ${dir}/queue
data_directory = ${data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.paperboy.test
mydomain = paperboy.test
myorigin = $myhostname
mydestination =
relay_domains =
relayhost =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = check_recipient_access texthash:${conf}/recipient_access
${o.delayWarning ? `delay_warning_time = ${o.delayWarning}\n` : ''}# Accept mail for the error transport's domains, so Postfix itself bounces it with a DSN
# (otherwise smtpd refuses those recipients at RCPT and no DSN is ever written).
smtpd_reject_unlisted_recipient = no
alias_maps =
alias_database =
smtputf8_enable = no
transport_maps = texthash:${conf}/transport
default_transport = error:5.7.0 this test MTA delivers nowhere else
smtp_tls_security_level = none
smtpd_tls_security_level = none
# A report the receiver could not take yet is tried again within seconds, not minutes.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
maillog_file_prefixes = ${dir}
maillog_file = ${maillog}
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C
${Object.entries(o.settings ?? {})
  .map(([name, value]) => `${name} = ${value}\n`)
  .join('')}`,
  );
  // chroot off throughout: the queue lives in a temp folder, not under /var/spool.
  writeFileSync(
    join(conf, 'master.cf'),
    `127.0.0.1:${port} inet n - n - - smtpd
pickup     unix n - n 60 1 pickup
cleanup    unix n - n - 0 cleanup
qmgr       unix n - n 300 1 qmgr
rewrite    unix - - n - - trivial-rewrite
bounce     unix - - n - 0 bounce
defer      unix - - n - 0 bounce
trace      unix - - n - 0 bounce
verify     unix - - n - 1 verify
flush      unix n - n 1000? 0 flush
proxymap   unix - - n - - proxymap
smtp       unix - - n - - smtp
showq      unix n - n - - showq
error      unix - - n - - error
retry      unix - - n - - error
discard    unix - - n - - discard
anvil      unix - - n - 1 anvil
scache     unix - - n - 1 scache
postlog    unix-dgram n - n - 1 postlogd
`,
  );
  const log = () => (existsSync(maillog) ? readFileSync(maillog, 'utf8') : '(no maillog)');
  const postfix = (command: string) =>
    execFileSync(POSTFIX, ['-c', conf, command], {
      stdio: 'pipe',
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
  try {
    postfix('start');
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`postfix -c ${conf} start failed: ${(err as Error).message}\n${log()}`);
  }
  const pidFile = join(dir, 'queue', 'pid', 'master.pid');
  const url = `smtp://127.0.0.1:${port}`;
  await waitFor(
    async () => (await canConnect(port)) || null,
    10_000,
    () => `Postfix's smtpd did not listen on ${url}:\n${log()}`,
  );
  return {
    url,
    port,
    log,
    async stop() {
      try {
        const master = Number(readFileSync(pidFile, 'utf8').trim());
        postfix('stop');
        await waitFor(
          () => (isRunning(master) ? null : true),
          10_000,
          () => `Postfix's master (pid ${master}) did not stop`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Polls `check` until it returns a value, or fails with `why()` after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | null> | T | null,
  timeoutMs: number,
  why: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 100));
  }
}
