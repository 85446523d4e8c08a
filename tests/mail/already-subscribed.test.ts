import { describe, expect, it } from 'vitest';
import { loadTemplates } from '../../src/mail/templates.ts';

describe('alreadySubscribed', () => {
  it('when rendered, then both parts carry the escaped preferences and unsubscribe links and nothing to confirm', async () => {
    const templates = await loadTemplates({
      publicUrl: 'https://papers.example.org/',
      postalAddress: 'Paperboy, 1 Example Street',
    });
    const mail = templates.alreadySubscribed({
      preferencesUrl: 'https://papers.example.org/preferences/1.a?x=1&y="2"',
      unsubscribeUrl: 'https://papers.example.org/unsubscribe/1.b',
    });
    expect(mail.subject).toBe('Paperboy · You’re already subscribed');
    expect(mail.html).toContain('href="https://papers.example.org/preferences/1.a?x=1&#38;y=%222%22"');
    expect(mail.html.match(/href="https:\/\/papers\.example\.org\/unsubscribe\/1\.b"/g)).toHaveLength(2); // body and footer
    expect(mail.html).not.toContain('{{');
    expect(mail.html).not.toContain('/confirm');
    expect(mail.text).toContain(
      'Change how many papers you get or which topics: https://papers.example.org/preferences/1.a?x=1&y=%222%22',
    );
    expect(mail.text).toContain('Unsubscribe in one click: https://papers.example.org/unsubscribe/1.b');
    expect(mail.text).toContain('Paperboy, 1 Example Street');
    expect(() =>
      templates.alreadySubscribed({
        preferencesUrl: 'javascript:alert(1)',
        unsubscribeUrl: 'https://papers.example.org/u',
      }),
    ).toThrow(/not an http\(s\) URL/);
  });

  it('when rendered, then it opens with its preheader, hidden like the confirmation email’s', async () => {
    const templates = await loadTemplates({ publicUrl: 'https://papers.example.org', postalAddress: 'Paperboy' });
    const links = { preferencesUrl: 'https://papers.example.org/p', unsubscribeUrl: 'https://papers.example.org/u' };
    const preheader = (html: string) =>
      /<div class="preheader" style="display:none;[^"]*">([^<]*)<\/div>/.exec(html)?.[1];

    expect(preheader(templates.confirm({ confirmUrl: 'https://papers.example.org/c' }).html)).toBe(
      'One click and your digest of trending ML papers starts.',
    );
    const { html } = templates.alreadySubscribed(links);
    expect(preheader(html)).toBe('Nothing changed: your preferences and unsubscribe links are inside.');
    // Before the header and the text, so it is what an inbox shows beside the subject.
    expect(html.indexOf('class="preheader"')).toBeLessThan(html.indexOf('<table', html.indexOf('<body')));
  });
});
