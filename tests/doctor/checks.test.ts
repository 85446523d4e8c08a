import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/connection.ts';
import { migrate } from '../../src/db/migrate.ts';
import {
  checkDatabase,
  checkDkim,
  checkUnsubscribeMailto,
  checkOutbox,
  checkPublicUrl,
  checkSmtp,
  dkimPublicKey,
  type ResolveTxt,
} from '../../src/doctor/checks.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { selfSignedCertificate } from '../support/tls.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'paperboy-doctor-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A port nothing listens on: bound, then freed. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('database', () => {
  it('when the database exists and is migrated, then ok with its migrations; nothing is left of the probe', () => {
    const path = join(dir, 'ok.sqlite');
    const db = openDatabase(path);
    const applied = migrate(db);
    db.close();
    const r = checkDatabase(path);
    expect(r).toMatchObject({ name: 'database', outcome: 'ok' });
    expect(r.detail).toBe(`${path} is writable; ${applied.length} migrations applied`);
    const after = openDatabase(path);
    expect(after.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'doctor_write_probe'`).pluck().get()).toBe(0);
    after.close();
  });

  it('when the file is not a database, then it fails naming DATABASE_PATH', () => {
    const path = join(dir, 'garbage.sqlite');
    writeFileSync(path, 'this is not a database, just some text long enough to have a header'.repeat(20));
    expect(checkDatabase(path)).toMatchObject({
      outcome: 'fail',
      detail: expect.stringMatching(/^DATABASE_PATH .*garbage\.sqlite: file is not a database/),
    });
  });

  it('when the file does not exist yet, then ok if its folder can be created, fail if a file stands in the way', () => {
    expect(checkDatabase(join(dir, 'new', 'sub', 'db.sqlite'))).toMatchObject({
      outcome: 'ok',
      detail: expect.stringContaining('does not exist yet'),
    });
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    expect(checkDatabase(join(blocker, 'db.sqlite'))).toMatchObject({ outcome: 'fail' });
  });
});

describe('outbox (no SMTP_URL)', () => {
  it('when OUTBOX_DIR is a writable folder, then ok and no file is left behind; when it cannot be created, fail', () => {
    const outbox = join(dir, 'outbox');
    mkdirSync(outbox);
    expect(checkOutbox(outbox)).toMatchObject({ name: 'mail', outcome: 'ok' });
    expect(execFileSync('ls', ['-A', outbox], { encoding: 'utf8' })).toBe('');
    const blocker = join(dir, 'outbox-blocker');
    writeFileSync(blocker, '');
    expect(checkOutbox(join(blocker, 'outbox'))).toMatchObject({
      outcome: 'fail',
      detail: expect.stringContaining('OUTBOX_DIR'),
    });
  });
});

describe('smtp', () => {
  let sink: SmtpSink | undefined;
  afterEach(async () => {
    await sink?.close();
    sink = undefined;
  });

  it('when the server asks for AUTH and the URL has the right user, then ok: EHLO, AUTH, and no message sent', async () => {
    sink = await startSmtpSink({ auth: { user: 'paperboy', pass: 's3cret' } });
    const r = await checkSmtp(`smtp://paperboy:s3cret@127.0.0.1:${sink.port}`, 5_000);
    expect(r).toMatchObject({
      outcome: 'ok',
      detail: `smtp://paperboy:***@127.0.0.1:${sink.port}: EHLO ok, no TLS (the server offers no STARTTLS), AUTH ok as paperboy`,
    });
    expect(sink.connections.logins).toEqual([{ method: expect.any(String), user: 'paperboy' }]);
    expect(sink.messages).toHaveLength(0);
  });

  it('when the password is wrong, then it fails naming SMTP_URL, without printing the password', async () => {
    sink = await startSmtpSink({ auth: { user: 'paperboy', pass: 's3cret' } });
    const r = await checkSmtp(`smtp://paperboy:wrong@127.0.0.1:${sink.port}`, 5_000);
    expect(r.outcome).toBe('fail');
    expect(r.detail).toMatch(new RegExp(`^SMTP_URL smtp://paperboy:\\*\\*\\*@127\\.0\\.0\\.1:${sink.port}: .*535`));
    expect(r.detail).not.toContain('wrong');
  });

  it('when the server needs no AUTH and offers STARTTLS, then ok over TLS', async () => {
    sink = await startSmtpSink({ tls: selfSignedCertificate('localhost') });
    const r = await checkSmtp(`smtp://127.0.0.1:${sink.port}?tls.rejectUnauthorized=false`, 5_000);
    expect(r).toMatchObject({
      outcome: 'ok',
      detail: expect.stringMatching(/: EHLO ok, TLS, no AUTH \(no user in SMTP_URL\)$/),
    });
  });

  it('when the URL says requireTLS and the server offers no STARTTLS, then it fails before AUTH: the password is not sent', async () => {
    sink = await startSmtpSink({ auth: { user: 'paperboy', pass: 's3cret' } });
    const r = await checkSmtp(`smtp://paperboy:s3cret@127.0.0.1:${sink.port}?requireTLS=true`, 5_000);
    expect(r).toMatchObject({ outcome: 'fail', detail: expect.stringContaining('requireTLS') });
    expect(sink.connections.logins).toEqual([]);
  });

  it('when nothing listens at SMTP_URL, then it fails naming it', async () => {
    const port = await closedPort();
    expect(await checkSmtp(`smtp://127.0.0.1:${port}`, 5_000)).toMatchObject({
      outcome: 'fail',
      detail: `SMTP_URL smtp://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
    });
  });
});

describe('public url', () => {
  let server: Server;
  let answer: { status: number; body: string };
  beforeAll(async () => {
    server = createServer((req, res) => {
      res
        .writeHead(req.url === '/base/healthz' ? answer.status : 404, { 'content-type': 'application/json' })
        .end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  const base = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/base`;

  it('when /healthz answers 200 ok, then ok; when it answers 503, or something else answers, then fail naming PUBLIC_URL', async () => {
    answer = { status: 200, body: '{"status":"ok","migrations":15}' };
    expect(await checkPublicUrl(base(), 2_000)).toMatchObject({
      outcome: 'ok',
      detail: `${base()}/healthz answered 200`,
    });
    answer = { status: 503, body: '{"status":"unavailable"}' };
    expect(await checkPublicUrl(base(), 2_000)).toMatchObject({
      outcome: 'fail',
      detail: `PUBLIC_URL ${base()}/healthz answered 503 (unavailable)`,
    });
    answer = { status: 200, body: '<html>a parked domain</html>' };
    expect(await checkPublicUrl(base(), 2_000)).toMatchObject({
      outcome: 'fail',
      detail: expect.stringContaining("not Paperboy's health check"),
    });
  });

  it('when nothing answers, then fail', async () => {
    const port = await closedPort();
    expect(await checkPublicUrl(`http://127.0.0.1:${port}`, 2_000)).toMatchObject({
      outcome: 'fail',
      detail: expect.stringContaining('ECONNREFUSED'),
    });
  });
});

describe('dkim', () => {
  const keyFile = (name: string, type: 'rsa' | 'ed25519') => {
    const { privateKey } =
      type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
    const path = join(dir, name);
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    return path;
  };
  const configWith = (path: string) =>
    loadConfig({ DKIM_DOMAIN: 'example.org', DKIM_SELECTOR: 'paperboy', DKIM_PRIVATE_KEY_PATH: path });
  /** DNS as the check sees it: the records this test publishes, nothing from outside. */
  const dns = (records: Record<string, string[][]>, error?: string): ResolveTxt & { asked: string[] } => {
    const asked: string[] = [];
    return Object.assign(
      async (name: string) => {
        asked.push(name);
        if (error) throw Object.assign(new Error(`queryTxt ${error} ${name}`), { code: error });
        const r = records[name];
        if (!r) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
        return r;
      },
      { asked },
    );
  };

  it('when the record holds the key (split in chunks, as long RSA records are), then ok', async () => {
    const path = keyFile('rsa.pem', 'rsa');
    const p = dkimPublicKey(readFileSync(path, 'utf8'));
    const record = `v=DKIM1; k=rsa; p=${p}`;
    const resolve = dns({ 'paperboy._domainkey.example.org': [[record.slice(0, 200), record.slice(200)]] });
    expect(await checkDkim(configWith(path), resolve)).toMatchObject({
      outcome: 'ok',
      detail: `paperboy._domainkey.example.org publishes the key of ${path}`,
    });
    expect(resolve.asked).toEqual(['paperboy._domainkey.example.org']);
  });

  it('when the record holds another key, is missing or revoked, then fail with the p= to publish', async () => {
    const path = keyFile('rsa2.pem', 'rsa');
    const other = dkimPublicKey(readFileSync(keyFile('other.pem', 'rsa'), 'utf8'));
    const p = dkimPublicKey(readFileSync(path, 'utf8'));
    const name = 'paperboy._domainkey.example.org';
    const wrong = await checkDkim(configWith(path), dns({ [name]: [[`v=DKIM1; k=rsa; p=${other}`]] }));
    expect(wrong).toMatchObject({ outcome: 'fail', detail: expect.stringContaining(`publishes another key`) });
    expect(wrong.detail).toContain(`p=${p}`);
    expect(await checkDkim(configWith(path), dns({}))).toMatchObject({
      outcome: 'fail',
      detail: expect.stringMatching(/^no TXT record at paperboy\._domainkey\.example\.org \(ENOTFOUND\)/),
    });
    expect(await checkDkim(configWith(path), dns({ [name]: [['v=DKIM1; p=']] }))).toMatchObject({
      outcome: 'fail',
      detail: expect.stringContaining('revoked'),
    });
  });

  it('when the key is Ed25519, then the raw public key is compared (RFC 8463)', async () => {
    const path = keyFile('ed.pem', 'ed25519');
    const p = dkimPublicKey(readFileSync(path, 'utf8'));
    expect(Buffer.from(p, 'base64')).toHaveLength(32);
    // The configuration takes an Ed25519 key only as DKIM_ED25519_KEY_PATH; the comparison itself is the same.
    const config = { ...configWith(keyFile('rsa-for-ed.pem', 'rsa')), DKIM_PRIVATE_KEY_PATH: path };
    expect(
      await checkDkim(config, dns({ 'paperboy._domainkey.example.org': [[`v=DKIM1; k=ed25519; p=${p}`]] })),
    ).toMatchObject({ outcome: 'ok' });
  });

  it('when DNS cannot be reached, then skip; when DKIM is not configured, then skip without a lookup', async () => {
    const path = keyFile('rsa3.pem', 'rsa');
    expect(await checkDkim(configWith(path), dns({}, 'ETIMEOUT'))).toMatchObject({
      outcome: 'skip',
      detail: expect.stringContaining('DNS is not reachable'),
    });
    const resolve = dns({});
    expect(await checkDkim(loadConfig({}), resolve)).toMatchObject({ outcome: 'skip' });
    expect(resolve.asked).toEqual([]);
  });

  it('when the private key file is unreadable, then fail naming DKIM_PRIVATE_KEY_PATH', async () => {
    // The configuration refuses a bad key at start-up; the file can still change under a running service.
    const path = keyFile('replaced.pem', 'rsa');
    const config = configWith(path);
    writeFileSync(path, 'nope');
    expect(await checkDkim(config, dns({}))).toMatchObject({
      outcome: 'fail',
      detail: expect.stringMatching(/^DKIM_PRIVATE_KEY_PATH /),
    });
  });
});

describe('checkUnsubscribeMailto', () => {
  const base = {
    MAIL_UNSUBSCRIBE_MAILTO: undefined,
    BOUNCE_SMTP_PORT: undefined,
    BOUNCE_IMAP_URL: undefined,
    BOUNCE_DOMAIN: 'bounces.example.org',
  };
  it('when MAIL_UNSUBSCRIBE_MAILTO is set, then it says Paperboy does not read it', () => {
    expect(
      checkUnsubscribeMailto({ ...base, MAIL_UNSUBSCRIBE_MAILTO: 'unsub@example.org', BOUNCE_SMTP_PORT: 2525 }),
    ).toEqual({
      name: 'unsubscribe',
      outcome: 'ok',
      detail: expect.stringMatching(/mailto:unsub@example\.org; Paperboy does not read it/),
    });
  });
  it("when Paperboy reads its own mail, then each reader's signed address is offered", () => {
    expect(checkUnsubscribeMailto({ ...base, BOUNCE_IMAP_URL: 'imaps://u:p@imap.example.org/INBOX' }).detail).toBe(
      "each reader's own unsubscribe+<token>@bounces.example.org, read by Paperboy",
    );
    expect(checkUnsubscribeMailto(base).outcome).toBe('skip');
  });
});
