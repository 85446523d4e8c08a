import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';

const DOVECOT = '/usr/sbin/dovecot';
// nobody:nogroup exists on every Debian; Dovecot refuses to open mail as root.
const MAIL_UID = 65534;
const MAIL_GID = 65534;

export interface Dovecot {
  port: number;
  user: string;
  pass: string;
  /** BOUNCE_IMAP_URL for `folder` (with `?ignoreTLS=true`: this Dovecot has no TLS). */
  url(folder?: string): string;
  /** Dovecot's own log, for a failing test's message. */
  log(): string;
  /** Drops every session of the user, as a server restart or a network cut would. */
  kick(): void;
  /** Runs `fn` in a logged-in IMAP session of the test user (to deliver, look, clean up). */
  session<T>(fn: (c: ImapFlow) => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForGreeting(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`dovecot exited with ${child.exitCode}: ${log()}`);
    const greeted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().includes('ready'));
      });
      socket.once('error', () => resolve(false));
    });
    if (greeted) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`dovecot did not greet on 127.0.0.1:${port}: ${log()}`);
}

/**
 * A real IMAP server (Debian's dovecot-imapd) from a temp config: plain-text login on
 * 127.0.0.1, one user, Maildir in the temp folder, run as root (its mail processes as nobody),
 * in the foreground so the test owns the master process. No binary: the test fails, it does
 * not skip (CI installs dovecot-imapd).
 */
export async function startDovecot(): Promise<Dovecot> {
  if (!existsSync(DOVECOT))
    throw new Error(
      `${DOVECOT} is missing: the IMAP tests need Debian's dovecot-imapd (apt-get install -y dovecot-imapd)`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'paperboy-dovecot-'));
  chmodSync(dir, 0o755);
  for (const sub of ['run', 'state', 'mail']) mkdirSync(join(dir, sub));
  chownSync(join(dir, 'mail'), MAIL_UID, MAIL_GID);
  const port = await freePort();
  const user = 'bounces';
  const pass = 'imap-test-password';
  writeFileSync(join(dir, 'passwd'), `${user}:{PLAIN}${pass}\n`);
  const config = `
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
login_trusted_networks = 127.0.0.0/8
mail_location = maildir:${dir}/mail/%u
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = nobody
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${MAIL_UID} gid=${MAIL_GID} home=${dir}/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
`;
  writeFileSync(join(dir, 'dovecot.conf'), config);
  const log = () =>
    existsSync(join(dir, 'dovecot.log')) ? readFileSync(join(dir, 'dovecot.log'), 'utf8') : '(no log)';
  const child = spawn(DOVECOT, ['-F', '-c', join(dir, 'dovecot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForGreeting(port, child, () => `${stderr}\n${log()}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    user,
    pass,
    url: (folder = 'INBOX') => `imap://${user}:${pass}@127.0.0.1:${port}/${encodeURIComponent(folder)}?ignoreTLS=true`,
    log,
    kick: () =>
      void execFileSync('/usr/bin/doveadm', ['-c', join(dir, 'dovecot.conf'), 'kick', user], { stdio: 'ignore' }),
    session: async (fn) => {
      const c = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass }, logger: false });
      await c.connect();
      try {
        return await fn(c);
      } finally {
        await c.logout();
      }
    },
    stop,
  };
}
