import { describe, expect, it } from 'vitest';
import { identityWarnings } from '../../src/mail/identity.ts';

const good = {
  SMTP_URL: 'smtp://relay.example.org:587',
  PUBLIC_URL: 'https://papers.example.org',
  MAIL_FROM: 'Paperboy <digest@papers.example.org>',
  DKIM_DOMAIN: 'example.org',
};

describe('identityWarnings', () => {
  it('when the sending identity is sound, then there is nothing to say', () => {
    expect(identityWarnings(good)).toEqual([]);
  });

  it('when mail goes to the outbox, then no setting is a problem', () => {
    expect(
      identityWarnings({
        ...good,
        SMTP_URL: undefined,
        PUBLIC_URL: 'http://localhost:3000',
        MAIL_FROM: 'x@localhost',
        DKIM_DOMAIN: undefined,
      }),
    ).toEqual([]);
  });

  it.each([
    ['http://localhost:3000', /PUBLIC_URL is http:\/\/localhost:3000: readers cannot open/],
    ['http://127.0.0.1:3000', /PUBLIC_URL is http:\/\/127\.0\.0\.1:3000/],
    ['https://[::1]:3000', /PUBLIC_URL is https:\/\/\[::1\]:3000/],
    ['http://papers.example.org', /PUBLIC_URL is not https/],
  ])('when PUBLIC_URL is %s, then one line says why links break', (url, line) => {
    const warnings = identityWarnings({ ...good, PUBLIC_URL: url });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(line);
  });

  it('when MAIL_FROM is on localhost, then one line names it', () => {
    expect(identityWarnings({ ...good, MAIL_FROM: 'Paperboy <paperboy@localhost>' })).toEqual([
      expect.stringMatching(/^MAIL_FROM is "Paperboy <paperboy@localhost>": mail from a local domain/),
    ]);
  });

  it('when DKIM signs for another domain, then DMARC alignment is named', () => {
    expect(identityWarnings({ ...good, DKIM_DOMAIN: 'mailer.example.net' })).toEqual([
      expect.stringMatching(
        /^DKIM_DOMAIN mailer\.example\.net is not aligned with MAIL_FROM's domain papers\.example\.org/,
      ),
    ]);
  });

  it('when DKIM signs for the From domain or a parent or child of it, then it is aligned', () => {
    for (const d of ['papers.example.org', 'example.org', 'PAPERS.EXAMPLE.ORG'])
      expect(identityWarnings({ ...good, DKIM_DOMAIN: d })).toEqual([]);
  });

  it('when there is no DKIM, then the one-click unsubscribe requirement is named', () => {
    expect(identityWarnings({ ...good, DKIM_DOMAIN: undefined })).toEqual([expect.stringMatching(/RFC 8058/)]);
  });

  it('when everything is wrong at once, then each problem has its own line', () => {
    expect(
      identityWarnings({
        SMTP_URL: good.SMTP_URL,
        PUBLIC_URL: 'http://localhost:3000',
        MAIL_FROM: 'paperboy@localhost',
        DKIM_DOMAIN: undefined,
      }),
    ).toHaveLength(3);
  });
});
