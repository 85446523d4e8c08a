import { describe, expect, it } from 'vitest';
import { looksLikeVerpAddress, parseVerpAddress, verpAddress } from '../../src/bounces/verp.ts';
import { loadConfig } from '../../src/config.ts';

const SECRET = 'verp-secret-verp-secret-verp-secret-0123';
const DOMAIN = 'papers.example.org';

describe('VERP addresses', () => {
  it('when a digest address is parsed back, then it names its subscriber and run', () => {
    const addr = verpAddress({ subscriberId: 42, runDate: '2026-11-24' }, SECRET, DOMAIN);
    expect(addr).toMatch(/^bounces\+42-20261124-[a-z2-7]{16}@papers\.example\.org$/);
    expect(parseVerpAddress(addr, SECRET, DOMAIN)).toEqual({ subscriberId: 42, runDate: '2026-11-24' });
  });

  it('when a confirmation address is parsed back, then it names the subscriber and no run', () => {
    const addr = verpAddress({ subscriberId: 7 }, SECRET, DOMAIN);
    expect(parseVerpAddress(addr, SECRET, DOMAIN)).toEqual({ subscriberId: 7 });
  });

  it('when a mail system uppercases or brackets it, then it still parses; the local part stays within 64 characters', () => {
    const addr = verpAddress({ subscriberId: 999_999_999_999_999, runDate: '2026-12-31' }, SECRET, DOMAIN);
    expect(addr.split('@')[0]!.length).toBeLessThanOrEqual(64);
    expect(addr).toMatch(/^[a-z0-9+-]+@/);
    expect(parseVerpAddress(`<${addr.toUpperCase()}>`, SECRET, DOMAIN)).toEqual({
      subscriberId: 999_999_999_999_999,
      runDate: '2026-12-31',
    });
  });

  it.each([
    ['another subscriber id', (a: string) => a.replace('bounces+42-', 'bounces+43-')],
    ['another run date', (a: string) => a.replace('-20261124-', '-20261125-')],
    ['a date dropped', (a: string) => a.replace('-20261124-', '-')],
    [
      'one signature character changed',
      (a: string) =>
        a.replace(/-([a-z2-7])([a-z2-7]{15})@/, (_m, c: string, rest: string) => `-${c === 'a' ? 'b' : 'a'}${rest}@`),
    ],
    ['another domain', (a: string) => a.replace('@papers.example.org', '@evil.example.net')],
    ['a truncated signature', (a: string) => a.replace(/[a-z2-7]@/, '@')],
  ])('when a token has %s, then it names nobody', (_what, alter) => {
    const addr = verpAddress({ subscriberId: 42, runDate: '2026-11-24' }, SECRET, DOMAIN);
    const altered = alter(addr);
    expect(altered).not.toBe(addr);
    expect(parseVerpAddress(altered, SECRET, DOMAIN)).toBeNull();
  });

  it('when signed with another secret, then it names nobody, though it still looks like ours', () => {
    const forged = verpAddress({ subscriberId: 42 }, 'someone-elses-secret-someone-elses-secret', DOMAIN);
    expect(parseVerpAddress(forged, SECRET, DOMAIN)).toBeNull();
    expect(looksLikeVerpAddress(forged, DOMAIN)).toBe(true);
    expect(looksLikeVerpAddress('postmaster@papers.example.org', DOMAIN)).toBe(false);
  });
});

describe('BOUNCE_DOMAIN', () => {
  it("when unset, then it is MAIL_FROM's domain; when set, it wins", () => {
    expect(loadConfig({ MAIL_FROM: 'Paperboy <digest@Papers.Example.org>' }).BOUNCE_DOMAIN).toBe('papers.example.org');
    expect(
      loadConfig({ MAIL_FROM: 'digest@papers.example.org', BOUNCE_DOMAIN: 'bounces.example.org' }).BOUNCE_DOMAIN,
    ).toBe('bounces.example.org');
    expect(loadConfig({}).BOUNCE_SOFT_LIMIT).toBe(3);
  });

  it('when it is not a domain name, then the configuration is refused naming it', () => {
    expect(() => loadConfig({ BOUNCE_DOMAIN: 'not a domain' })).toThrow(/BOUNCE_DOMAIN: must be a domain name/);
    expect(() => loadConfig({ BOUNCE_SOFT_LIMIT: '0' })).toThrow(/BOUNCE_SOFT_LIMIT/);
  });
});
