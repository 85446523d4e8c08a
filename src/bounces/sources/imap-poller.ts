import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import type { Logger } from '../../logger.ts';
import { handleReport, quarantineReport, type HandleReportDeps } from '../handle-report.ts';
import type { ImapPosition, ImapStateStore } from './imap-state-store.ts';

/** What happens to a message once it is handled (BOUNCE_IMAP_AFTER). */
type ImapAfter = { action: 'seen' } | { action: 'delete' } | { action: 'move'; folder: string };

function parseImapAfter(value: string): ImapAfter {
  if (value === 'seen' || value === 'delete') return { action: value };
  const folder = /^move:(.+)$/.exec(value)?.[1]?.trim();
  if (folder) return { action: 'move', folder };
  throw new RangeError(`not seen, delete or move:<Folder>: ${JSON.stringify(value)}`);
}

export interface ImapMailbox {
  options: ImapFlowOptions;
  /** The folder to read (the URL's path; INBOX when it has none). */
  path: string;
  /** `user@host:port/Folder`: the key of its position in imap_state, and its name in logs. */
  key: string;
}

/**
 * `imaps://user:pass@host[:port]/Folder`, or `imap://`, which must upgrade with STARTTLS before it
 * logs in: a server that does not offer it (or someone on the path who strips the offer) fails
 * the connection, and the password is not sent. `?ignoreTLS=true` (SMTP_URL's word) logs in over
 * plain text, for a server on this machine or a trusted network. `?tls.rejectUnauthorized=false`
 * accepts a self-signed certificate.
 */
export function imapMailbox(url: string): ImapMailbox {
  const mailboxUrl = new URL(url);
  if (mailboxUrl.protocol !== 'imap:' && mailboxUrl.protocol !== 'imaps:')
    throw new RangeError(`not an imap:// or imaps:// URL: ${mailboxUrl.protocol}`);
  const secure = mailboxUrl.protocol === 'imaps:';
  const port = mailboxUrl.port ? Number(mailboxUrl.port) : secure ? 993 : 143;
  const path = decodeURIComponent(mailboxUrl.pathname.replace(/^\/+/, '')) || 'INBOX';
  const user = decodeURIComponent(mailboxUrl.username);
  const options: ImapFlowOptions = {
    host: mailboxUrl.hostname,
    port,
    secure,
    auth: { user, pass: decodeURIComponent(mailboxUrl.password) },
    logger: false,
    // A failed server should not hold the poller for the library's default minutes.
    connectionTimeout: 30_000,
    greetingTimeout: 15_000,
    // Enter IDLE soon after a drain (the library waits 15 s), so new reports arrive at once.
    autoIdleDelay: 1000,
  };
  if (!secure) options.doSTARTTLS = mailboxUrl.searchParams.get('ignoreTLS') !== 'true';
  if (mailboxUrl.searchParams.get('tls.rejectUnauthorized') === 'false') options.tls = { rejectUnauthorized: false };
  return { options, path, key: `${user}@${mailboxUrl.hostname}:${port}/${path}` };
}

export interface ImapPollerDeps {
  /** handleReport's dependencies: the parser, the policy and the matching rules. */
  intake: HandleReportDeps;
  state: ImapStateStore;
  logger: Logger;
}

export interface ImapPollerOptions {
  url: string;
  /** BOUNCE_IMAP_QUARANTINE: where a message the intake cannot handle is moved (created when missing). */
  quarantineFolder: string;
  /** BOUNCE_IMAP_AFTER: `seen`, `delete` or `move:<Folder>`. */
  after: string;
  /** Between two looks at the mailbox when IDLE says nothing (or the server has no IDLE). */
  pollMs: number;
  /** First delay after a failure; doubles up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
}

export interface ImapPoller {
  /** Ends the session (after the message being handled) and stops reconnecting. */
  stop(): Promise<void>;
}

// Each fetch brings whole messages (a DSN often carries the original): a few at a time.
const FETCH_CHUNK = 20;

/**
 * Reads the bounce mailbox: every message above the last handled UID is handled (handleReport,
 * source `imap:<Folder>`), its UID recorded, then it is marked seen, moved or deleted. A message
 * the intake sets aside (over BOUNCE_MAX_BYTES, unreadable, too slow to parse) is moved to the
 * quarantine folder instead, and the next one is read: no message can stop the mailbox. New mail
 * is noticed through IDLE, and by a look every `pollMs` anyway. A failure (connection, login, the
 * database) is logged once, and the session starts again after a growing delay: the poller never
 * throws and never stops the service.
 *
 * Exactly once across restarts: the position (UIDVALIDITY, last UID) is recorded after each
 * message, and handleReport changes nothing for a report it has seen, so a crash between the
 * two only repeats a no-op. Messages handled but not yet moved or deleted (a crash right after
 * the record) are moved or deleted when the next session starts.
 */
export function startImapPoller(deps: ImapPollerDeps, opts: ImapPollerOptions): ImapPoller {
  return new MailboxReader(deps, opts);
}

/** The poller: sessions one after another, each draining the mailbox, until stopped. */
class MailboxReader implements ImapPoller {
  private deps: ImapPollerDeps;
  private opts: ImapPollerOptions;
  private mailbox: ImapMailbox;
  private after: ImapAfter;
  private log: Logger;
  private stopping = false;
  private wake: (() => void) | undefined;
  private client: ImapFlow | undefined;
  private running: Promise<void>;

  constructor(deps: ImapPollerDeps, opts: ImapPollerOptions) {
    this.deps = deps;
    this.opts = opts;
    this.mailbox = imapMailbox(opts.url);
    this.after = parseImapAfter(opts.after);
    this.log = deps.logger.child({ mailbox: this.mailbox.key });
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    // A session stuck on a silent server ends with its connection.
    const force = setTimeout(() => this.client?.close(), 5000);
    await this.running;
    clearTimeout(force);
  }

  private async run(): Promise<void> {
    const retryMs = this.opts.retryMs ?? 1000;
    const maxRetryMs = this.opts.maxRetryMs ?? 5 * 60_000;
    let failures = 0;
    while (!this.stopping) {
      const client = new ImapFlow(this.mailbox.options);
      this.client = client;
      try {
        await this.session(client, () => {
          failures = 0;
        });
      } catch (err) {
        if (this.stopping) break;
        failures++;
        const delay = Math.min(retryMs * 2 ** (failures - 1), maxRetryMs);
        this.log.warn(
          { reason: (err as Error).message, failures, retryInMs: delay },
          'bounce mailbox: session failed, retrying',
        );
        await this.pause(delay);
      } finally {
        client.close();
        this.client = undefined;
      }
    }
  }

  /** Resolves after `ms`, when woken (new mail, stop), or rejects when the connection closes. */
  private async pause(ms: number, closed?: Promise<never>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const woken = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      this.wake = resolve;
    });
    try {
      await Promise.race(closed ? [woken, closed] : [woken]);
    } finally {
      clearTimeout(timer);
      this.wake = undefined;
    }
  }

  /** One connection: open the mailbox, drain it, wait for more, until stopped or broken. */
  private async session(client: ImapFlow, connected: () => void): Promise<void> {
    let closedReason = 'the server closed the connection';
    client.on('error', (err: Error) => {
      closedReason = err.message;
    });
    const closed = new Promise<never>((_, reject) => client.once('close', () => reject(new Error(closedReason))));
    closed.catch(() => undefined);
    let newMail = false;
    client.on('exists', () => {
      newMail = true;
      this.wake?.();
    });
    let position = await this.open(client);
    while (!this.stopping) {
      newMail = false;
      position = await this.drain(client, position);
      connected();
      if (!this.stopping && !newMail) await this.pause(this.opts.pollMs, closed);
    }
    await client.logout();
  }

  /** Connects, creates the folders, opens the mailbox; returns the position to read from. */
  private async open(client: ImapFlow): Promise<ImapPosition> {
    const { after, mailbox, opts, log } = this;
    await client.connect();
    if (after.action === 'move') await client.mailboxCreate(after.folder);
    await client.mailboxCreate(opts.quarantineFolder);
    const box = await client.mailboxOpen(mailbox.path);
    const uidValidity = String(box.uidValidity);
    const saved = this.deps.state.get(mailbox.key);
    const position: ImapPosition = saved?.uidValidity === uidValidity ? saved : { uidValidity, lastUid: 0 };
    if (saved && saved.uidValidity !== uidValidity)
      log.warn(
        { was: saved.uidValidity, now: uidValidity },
        'bounce mailbox: UIDVALIDITY changed, reading it from the start',
      );
    // Finish what the last session handled but had not moved or deleted yet.
    if (after.action !== 'seen' && position.lastUid > 0) await this.applyAfter(client, `1:${position.lastUid}`);
    log.info({ uidValidity, lastUid: position.lastUid, after: opts.after }, 'bounce mailbox: connected');
    return position;
  }

  /**
   * Handles every message above the recorded position; returns the new position. Sizes come first,
   * so a message over BOUNCE_MAX_BYTES is quarantined without being downloaded.
   */
  private async drain(client: ImapFlow, start: ImapPosition): Promise<ImapPosition> {
    const { deps, mailbox } = this;
    let position = start;
    const found = (await client.search({ uid: `${position.lastUid + 1}:*` }, { uid: true })) || [];
    // `n:*` names the last message even when its UID is below n (RFC 3501 §6.4.8).
    const uids = found.filter((uid) => uid > position.lastUid).sort((a, b) => a - b);
    for (let i = 0; i < uids.length && !this.stopping; i += FETCH_CHUNK) {
      const { sizes, sources } = await this.fetchChunk(client, uids.slice(i, i + FETCH_CHUNK).join(','));
      for (const uid of [...sizes.keys()].sort((a, b) => a - b)) {
        if (this.stopping) break;
        const quarantined = await this.handleMessage(client, uid, sources.get(uid), sizes.get(uid) ?? 0, position);
        position = { uidValidity: position.uidValidity, lastUid: uid };
        deps.state.set(mailbox.key, position, deps.intake.clock.now());
        if (!quarantined) await this.applyAfter(client, String(uid));
      }
    }
    return position;
  }

  /** The sizes of a chunk's messages, and the sources of those within BOUNCE_MAX_BYTES. */
  private async fetchChunk(client: ImapFlow, chunk: string) {
    const fetched = await client.fetchAll(chunk, { uid: true, size: true }, { uid: true });
    const sizes = new Map(fetched.map((m) => [m.uid, m.size ?? 0]));
    const small = [...sizes].filter(([, size]) => size <= this.deps.intake.maxBytes).map(([uid]) => uid);
    const sources = new Map(
      small.length
        ? (await client.fetchAll(small.join(','), { uid: true, source: true }, { uid: true })).map((m) => [
            m.uid,
            m.source,
          ])
        : [],
    );
    return { sizes, sources };
  }

  /** One message through the intake; a message it sets aside is moved to the quarantine folder (true). */
  private async handleMessage(
    client: ImapFlow,
    uid: number,
    source: Buffer | undefined,
    size: number,
    position: ImapPosition,
  ): Promise<boolean> {
    const { deps, mailbox, opts, log } = this;
    const from = { kind: 'imap', name: mailbox.path, quarantineIn: `imap:${opts.quarantineFolder}` } as const;
    const handled = source
      ? await handleReport(deps.intake, source, from)
      : {
          quarantined: quarantineReport(deps.intake, from, {
            reportKey: `imap:${mailbox.key}:${position.uidValidity}:${uid}`,
            size,
            raw: null,
            reason: `too big (over BOUNCE_MAX_BYTES, ${deps.intake.maxBytes} bytes)`,
          }),
        };
    if (handled.quarantined) {
      await client.messageMove(String(uid), opts.quarantineFolder, { uid: true });
      log.warn(
        { uid, reason: handled.quarantined.reason, folder: opts.quarantineFolder },
        'bounce mailbox: message quarantined',
      );
      return true;
    }
    if ('kind' in handled)
      log.info(
        { uid, kind: handled.kind, effects: handled.recipients.map((r) => r.applied.effect) },
        'bounce mailbox: message handled',
      );
    return false;
  }

  private async applyAfter(client: ImapFlow, range: string): Promise<void> {
    const { after } = this;
    if (after.action === 'seen') await client.messageFlagsAdd(range, ['\\Seen'], { uid: true });
    else if (after.action === 'delete') await client.messageDelete(range, { uid: true });
    else await client.messageMove(range, after.folder, { uid: true });
  }
}
