import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../src/config.ts';

describe('loadConfig', () => {
  it('when nothing is set, then every default is usable', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(3000);
    expect(c.DATABASE_PATH).toBe('./data/paperboy.sqlite');
    expect(c.PUBLIC_URL).toBe('http://localhost:3000');
    expect(c.SMTP_URL).toBeUndefined();
    expect(c.PAPERS_API_URL).toBe('https://huggingface.co/api/daily_papers');
  });

  it('when WEEKLY_DAY is a day name in any case, then it is read; unset, it is monday', () => {
    expect(loadConfig({}).WEEKLY_DAY).toBe('monday');
    expect(loadConfig({ WEEKLY_DAY: ' Friday ' }).WEEKLY_DAY).toBe('friday');
    expect(loadConfig({ WEEKLY_DAY: '' }).WEEKLY_DAY).toBe('monday');
  });

  it('when PORT is set, then the default PUBLIC_URL follows it; a trailing slash is dropped', () => {
    expect(loadConfig({ PORT: '8080' }).PUBLIC_URL).toBe('http://localhost:8080');
    expect(loadConfig({ PUBLIC_URL: 'https://p.example.org/' }).PUBLIC_URL).toBe('https://p.example.org');
  });

  it.each([
    [{ PORT: 'abc' }, /^invalid configuration: PORT: /],
    [{ SMTP_URL: 'mail.example.org' }, /SMTP_URL: must look like smtp:/],
    [{ DIGEST_TZ: 'Mars/Olympus' }, /DIGEST_TZ: must be an IANA time zone/],
    [{ WEEKLY_DAY: 'mon' }, /WEEKLY_DAY: must be a day name: sunday, monday/],
    [{ SECRET: 'short' }, /SECRET: must be at least 32 characters/],
    [{ SEND_CONNECT_GIVE_UP_SECONDS: '86401' }, /SEND_CONNECT_GIVE_UP_SECONDS: /],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL: /],
    [{ DKIM_DOMAIN: 'example.org' }, /DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_PATH go together/],
    [{ BOUNCE_IMAP_URL: 'pop3://u:p@mail.example.org' }, /BOUNCE_IMAP_URL: must look like imaps:/],
    [{ BOUNCE_IMAP_AFTER: 'archive' }, /BOUNCE_IMAP_AFTER: must be seen, delete or move:<Folder>/],
    [{ SES_SNS_TOPIC_ARNS: 'ses-bounces' }, /SES_SNS_TOPIC_ARNS: must be SNS topic ARNs/],
    [{ POSTMARK_WEBHOOK_AUTH: 'no-colon-here' }, /POSTMARK_WEBHOOK_AUTH: must be user:password/],
    [{ DKIM_ED25519_KEY_PATH: '/etc/ed.pem' }, /DKIM_ED25519_KEY_PATH is a second signature/],
    [{ DKIM_WORKERS: '-1' }, /DKIM_WORKERS: /],
  ])('when %o, then start-up stops naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('loadConfig: the DKIM keys are checked before anything starts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paperboy-dkim-keys-'));
  const write = (name: string, type: 'rsa' | 'ed25519') => {
    const { privateKey } =
      type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 1024 }) : generateKeyPairSync('ed25519');
    const path = join(dir, name);
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    return path;
  };
  const rsa = write('rsa.pem', 'rsa');
  const ed = write('ed.pem', 'ed25519');
  const env = (keys: Record<string, string>) => ({ DKIM_DOMAIN: 'example.org', DKIM_SELECTOR: 'pb', ...keys });

  it('when each key file holds the type its setting names, then the configuration loads', () => {
    expect(loadConfig(env({ DKIM_PRIVATE_KEY_PATH: rsa, DKIM_ED25519_KEY_PATH: ed })).DKIM_ED25519_KEY_PATH).toBe(ed);
  });

  it('when a key file holds the other type, then one line names the setting and what it holds', () => {
    expect(() => loadConfig(env({ DKIM_PRIVATE_KEY_PATH: ed }))).toThrow(
      /^invalid configuration: DKIM_PRIVATE_KEY_PATH: .*ed\.pem holds a key of type ed25519, not an RSA private key$/,
    );
    expect(() => loadConfig(env({ DKIM_PRIVATE_KEY_PATH: rsa, DKIM_ED25519_KEY_PATH: rsa }))).toThrow(
      /^invalid configuration: DKIM_ED25519_KEY_PATH: .*rsa\.pem holds a key of type rsa, not an Ed25519 private key$/,
    );
  });

  it('when the Ed25519 key file cannot be read, then one line says so', () => {
    expect(() => loadConfig(env({ DKIM_PRIVATE_KEY_PATH: rsa, DKIM_ED25519_KEY_PATH: join(dir, 'nope.pem') }))).toThrow(
      ConfigError,
    );
  });
});
