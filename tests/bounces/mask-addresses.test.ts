import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handleReport } from '../../src/bounces/handle-report.ts';
import { maskAddresses } from '../../src/bounces/mask-addresses.ts';
import { applyProviderBounces } from '../../src/bounces/sources/webhooks/provider-events.ts';
import { createBounceTest, dsn, recipient, type BounceTest } from './support.ts';

describe('maskAddresses', () => {
  it.each([
    [
      '550 5.1.1 <Ada.Lovelace+papers@Example.ORG>: Recipient address rejected',
      '550 5.1.1 <…@Example.ORG>: Recipient address rejected',
    ],
    ['RCPT TO:<ada@example.org> and bob@example.net.', 'RCPT TO:<…@example.org> and …@example.net.'],
    ['to "ada@example.org" (forwarded)', 'to "…@example.org" (forwarded)'],
    ["user 'ada_l@sub.example.co.uk' unknown", "user '…@sub.example.co.uk' unknown"],
    ['<"Ada Lovelace"@example.org>', '<…@example.org>'],
    ['<"ada\\"quoted\\"@x"@example.org>', '<…@example.org>'],
    ["mailbox ADA.O'BRIEN@EXAMPLE.ORG is full", 'mailbox …@EXAMPLE.ORG is full'],
    ['<用户@例子.广告> unknown', '<…@例子.广告> unknown'],
    ['<josé.müller@bücher.example>', '<…@bücher.example>'],
    ['Δοκιμή@παράδειγμα.δοκιμή: no such user', '…@παράδειγμα.δοκιμή: no such user'],
    ['「ユーザー@例え。テスト」', '「…@例え。テスト」'],
    ['postmaster@[192.0.2.1] and root@[IPv6:2001:db8::1]', '…@[192.0.2.1] and …@[IPv6:2001:db8::1]'],
    ['mailto:ada@example.org?subject=x', 'mailto:…@example.org?subject=x'],
    ['bounces+12-20261124-abcdefghijklmnop@bounce.example.org', '…@bounce.example.org'],
    ['SRS0=HHH=TT=example.org=ada@forwarder.example', '…@forwarder.example'],
  ])('when the text is %j, then only the domains are left: %j', (text, masked) => {
    expect(maskAddresses(text)).toBe(masked);
  });

  it('when a text names no address, then it comes back unchanged', () => {
    for (const text of ['', '550 5.1.1 User unknown', 'a @ b', '@example.org', 'ada@', 'x@-', '"@"', '…@example.org'])
      expect(maskAddresses(text)).toBe(text);
  });

  it('when a text is masked twice, then the second pass changes nothing', () => {
    const once = maskAddresses('<ada@example.org>, "Bob B"@example.net, 用户@例子.广告');
    expect(maskAddresses(once)).toBe(once);
  });

  it('when addresses touch each other, then no local part is left in clear', () => {
    expect(maskAddresses('ada@example.org@bob@example.net')).toBe('…@example.org@…@example.net');
    expect(maskAddresses('ada@example.org,bob@example.net')).toBe('…@example.org,…@example.net');
  });

  // A backtracking address regex takes time quadratic in these; each is masked in one pass.
  it('when a long adversarial text is masked, then it comes back in one pass, every address masked', () => {
    const n = 200_000;
    expect(maskAddresses('a'.repeat(n))).toBe('a'.repeat(n));
    expect(maskAddresses(`${'a'.repeat(n)}@x`)).toBe('…@x');
    expect(maskAddresses(`${'a.'.repeat(n)}@`)).toBe(`${'a.'.repeat(n)}@`);
    expect(maskAddresses('a@'.repeat(n))).toBe('…@a@'.repeat(n / 2));
    expect(maskAddresses('@a'.repeat(n))).toBe('@…@a'.repeat(n / 2));
    expect(maskAddresses('"@'.repeat(n))).toBe('"@'.repeat(n));
    // A quoted local part far beyond RFC 5321's 64 octets is not one.
    const quoted = `"${'a\\"'.repeat(n)}"@x`;
    expect(maskAddresses(quoted)).toBe(quoted);
    expect(maskAddresses('\\'.repeat(n) + '"@x')).toBe('\\'.repeat(n) + '"@x');
    expect(maskAddresses(`a@${'b.'.repeat(n)}`)).toBe(`…@${'b.'.repeat(n - 1)}b.`);
    expect(maskAddresses(`a@[${'1'.repeat(n)}`)).toBe(`a@[${'1'.repeat(n)}`);
    const many = 'ada@example.org '.repeat(n / 10);
    expect(maskAddresses(many)).toBe('…@example.org '.repeat(n / 10));
  });
});

describe('the bounce intake', () => {
  let t: BounceTest;
  beforeEach(() => {
    t = createBounceTest();
  });
  afterEach(() => t.ctx.close());

  it('when a report quotes addresses in its diagnostic, then the event keeps only their domains', async () => {
    const [ada] = t.subscribe('ada@example.org');
    const report = dsn([
      recipient('Ada@Example.org', 'hard'),
      recipient('stranger@example.net', 'soft', {
        diagnostic: '452 4.2.2 <stranger@example.net> (forwarded to "Someone Else"@example.com) full',
      }),
    ]);
    await handleReport(t.deps(report), Buffer.from('Subject: x\r\n\r\nreport\r\n'), {
      kind: 'import',
      name: 'a.eml',
      trustAddresses: true,
    });
    expect(t.events().map((e) => [e.subscriber_id, e.diagnostic])).toEqual([
      [ada, '550 5.1.1 <…@Example.org>: Recipient address rejected: User unknown'],
      [null, '452 4.2.2 <…@example.net> (forwarded to …@example.com) full'],
    ]);
  });

  it("when a provider's webhook quotes the address, then the event keeps only its domain", () => {
    t.subscribe('ada@example.org');
    applyProviderBounces(t.deps(), 'ses', [
      {
        eventId: 'e1',
        envelopeFrom: [],
        recipient: 'ada@example.org',
        kind: 'hard',
        reason: 'userunknown',
        status: '5.1.1',
        diagnostic: 'smtp; 550 5.1.1 <ada@example.org>: user unknown',
      },
    ]);
    expect(t.events().map((e) => e.diagnostic)).toEqual(['smtp; 550 5.1.1 <…@example.org>: user unknown']);
  });
});
