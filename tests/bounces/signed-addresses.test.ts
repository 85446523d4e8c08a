import { describe, expect, it } from 'vitest';
import { parseMessageId, signedMessageId } from '../../src/bounces/message-id.ts';
import { parseUnsubscribeAddress, unsubscribeAddress } from '../../src/bounces/unsubscribe-address.ts';

const SECRET = 'signed-addresses-secret-0123456789abcdef';
const OTHER = 'another-secret-another-secret-0123456789';

describe('signed Message-IDs', () => {
  it('when one is built, then it reads back as signed, in any case and with or without angle brackets', () => {
    const id = signedMessageId({ edition: 'weekly', date: '2026-11-29', id: 42 }, SECRET, 'Papers.Example.org');
    expect(id).toMatch(/^weekly\.2026-11-29\.42\.[a-z2-7]{16}@papers\.example\.org$/);
    const want = { signed: true, edition: 'weekly', date: '2026-11-29', id: 42 };
    expect(parseMessageId(`<${id}>`, SECRET, 'papers.example.org')).toEqual(want);
    expect(parseMessageId(id.toUpperCase(), SECRET, 'papers.example.org')).toEqual(want);
  });

  it('when the signature, the id, the date, the key or the domain differ, then it names nobody', () => {
    const id = signedMessageId({ edition: 'digest', date: '2026-11-24', id: 7 }, SECRET, 'papers.example.org');
    for (const forged of [
      id.replace('.7.', '.8.'),
      id.replace('2026-11-24', '2026-11-25'),
      id.replace('digest.', 'weekly.'),
      signedMessageId({ edition: 'digest', date: '2026-11-24', id: 7 }, OTHER, 'papers.example.org'),
      id.replace('@papers.example.org', '@evil.example'),
      id.replace(/[a-z2-7]{16}@/, 'aaaaaaaaaaaaaaaa@'),
      signedMessageId({ edition: 'digest', date: '2026-11-24', id: 7 }, SECRET, 'papers.example.org').replace(
        '2026-11-24',
        '2026-02-30',
      ),
    ])
      expect(parseMessageId(forged, SECRET, 'papers.example.org'), forged).toBeUndefined();
  });

  it('when an id has the old unsigned digest form, then it is recognised as unsigned', () => {
    expect(parseMessageId('<digest.2026-11-24.17@papers.example.org>', SECRET, 'papers.example.org')).toEqual({
      signed: false,
      edition: 'digest',
      date: '2026-11-24',
      id: 17,
    });
    expect(parseMessageId('<test.2026-11-24.a1b2@papers.example.org>', SECRET, 'papers.example.org')).toBeUndefined();
    expect(parseMessageId('<confirm.2026-11-24.3@papers.example.org>', SECRET, 'papers.example.org')).toBeUndefined();
  });
});

describe('unsubscribe addresses', () => {
  it('when one is built, then it is lowercase and names its reader, whatever case a mail system gives it back in', () => {
    const address = unsubscribeAddress(12, SECRET, 'Bounces.Example.org');
    expect(address).toMatch(/^unsubscribe\+12-[a-z2-7]{16}@bounces\.example\.org$/);
    expect(parseUnsubscribeAddress(`<${address.toUpperCase()}>`, SECRET, 'bounces.example.org')).toBe(12);
  });

  it('when the id, the signature, the key or the domain differ, then it names nobody', () => {
    const address = unsubscribeAddress(12, SECRET, 'bounces.example.org');
    for (const forged of [
      address.replace('+12-', '+13-'),
      address.replace(/[a-z2-7]{4}@/, 'aaaa@'),
      unsubscribeAddress(12, OTHER, 'bounces.example.org'),
      address.replace('@bounces.example.org', '@example.org'),
      'unsubscribe@bounces.example.org',
    ])
      expect(parseUnsubscribeAddress(forged, SECRET, 'bounces.example.org'), forged).toBeNull();
  });
});
