import { describe, expect, it } from 'vitest';
import {
  FAILURE_TEXT_LIMIT,
  findAddresses,
  ReportLines,
  scrapeFailures,
  textAbout,
} from '../../src/bounces/classify/text-report.ts';

describe('findAddresses', () => {
  it('when addresses sit among brackets, quotes, dots and broken domains, then each is found as written', () => {
    expect(findAddresses(`To: <Ann@Example.com>, ".bob"@x.org; a@b.c_d@e.f and x@-bad, ..dot@x.io`)).toEqual([
      'Ann@Example.com',
      'a@b.c',
      '_d@e.f',
      'dot@x.io',
    ]);
  });

  it('when a long run of address characters has no @, then no address is found', () => {
    expect(findAddresses(`${'x.y-z'.repeat(20_000)} ok`)).toEqual([]);
    expect(findAddresses(`${'x.y-z'.repeat(20_000)}@example.com`)).toEqual([`${'x.y-z'.repeat(20_000)}@example.com`]);
  });
});

describe('scrapeFailures', () => {
  it('when addresses lead their lines (bullets and codes, a label, a colon, a quoted RCPT TO), then those are the failed ones', () => {
    const report = [
      'The following addresses had permanent fatal errors',
      ' -- >>> 550 5.1.1 <ann@example.com>... User unknown',
      'Unknown user: bob@example.com',
      'From: me@papers.example.org',
      'A message sent by',
      '  <sender@example.org>',
      'In: RCPT TO:<cy@example.com> ORCPT=rfc822;cy@example.com',
      'Recipient address: dee@example.com',
      'a@b.c_d@e.f',
      `${'-'.repeat(16)} x eve@example.com`,
      'fay@example.com mentioned in a sentence',
    ].join('\n');
    expect(scrapeFailures(new ReportLines(report), new Set(['me@papers.example.org']))).toEqual([
      { address: 'ann@example.com', diagnostic: '-- >>> 550 5.1.1 <ann@example.com>... User unknown' },
      {
        address: 'bob@example.com',
        diagnostic:
          'Unknown user: bob@example.com\nFrom: me@papers.example.org\nA message sent by\n  <sender@example.org>',
      },
      { address: 'cy@example.com', diagnostic: 'In: RCPT TO:<cy@example.com> ORCPT=rfc822;cy@example.com' },
      {
        address: 'dee@example.com',
        diagnostic: `Recipient address: dee@example.com\na@b.c_d@e.f\n${'-'.repeat(16)} x eve@example.com`,
      },
      { address: 'fay@example.com', diagnostic: 'fay@example.com mentioned in a sentence' },
    ]);
  });

  it('when a line opens with a long run of bullets before a word, then the address after the word is not a failed one', () => {
    const report = [`${'-'.repeat(10_000)} x eve@example.com`, '<gil@example.com>: user unknown'].join('\n');
    expect(scrapeFailures(new ReportLines(report), new Set()).map((f) => f.address)).toEqual(['gil@example.com']);
  });

  it('when a sender label ends in a long run of spaces, then the address under it is still taken for the sender', () => {
    const report = [`A message sent by${' '.repeat(10_000)}`, '  <me@papers.example.org>', '  <hal@example.com>'].join(
      '\n',
    );
    expect(scrapeFailures(new ReportLines(report), new Set()).map((f) => f.address)).toEqual(['hal@example.com']);
  });
});

describe('textAbout', () => {
  it("when lines follow an address, then they are read up to the next failed address's line", () => {
    const report = new ReportLines(
      ['<ivy@example.com>:', '550 5.1.1 user unknown', '(in reply to RCPT TO command)', '<jo@example.com>:', 'x'].join(
        '\n',
      ),
    );
    expect(textAbout(report, 'IVY@example.com')).toBe(
      '<ivy@example.com>:\n550 5.1.1 user unknown\n(in reply to RCPT TO command)',
    );
    expect(textAbout(report, 'kim@example.com')).toBe('');
  });

  it('when the lines about an address are very long, then only the first FAILURE_TEXT_LIMIT characters are read', () => {
    const report = new ReportLines(`İ\n<ivy@example.com>: ${'no such user '.repeat(10_000)}\nmore`);
    const about = textAbout(report, 'ivy@example.com');
    expect(about).toHaveLength(FAILURE_TEXT_LIMIT);
    expect(about.startsWith('<ivy@example.com>: no such user')).toBe(true);
  });
});
