import { describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { simpleParser, type ParsedMail } from 'mailparser';
import {
  listUnsubscribeValue,
  prepareMessage,
  renderMessage,
  type DigestContent,
  type Recipient,
} from '../../src/mail/raw-message.ts';
import { loadTemplates, personalise } from '../../src/mail/templates.ts';
import { escapeHtml } from '../../src/html.ts';
import { fixturePapers } from '../support/fixture-papers.ts';

const settings = {
  from: 'Paperboy Ö <digest@papers.example.org>',
  listId: '"Paperboy daily digest" <daily.papers.example.org>',
  unsubscribeMailto: 'unsubscribe@papers.example.org',
};

const recipient = (n: number, base = 'https://papers.example.org'): Recipient => ({
  to: `reader${n}@example.com`,
  messageId: `digest.2026-11-24.${n}@papers.example.org`,
  date: new Date('2026-11-25T07:00:00Z'),
  unsubscribeUrl: `${base}/unsubscribe/${n}.AAAAAAAAAAAAAAAAAAAAAAAA`,
  preferencesUrl: `${base}/preferences/${n}.BBBBBBBBBBBBBBBBBBBBBBBB`,
});

// A digest the size MJML produces, with what breaks naive encoders: CJK and emoji, one very long
// line, "=" signs, trailing spaces, a line starting with ".", placeholders at the edges and adjacent.
function content(): DigestContent {
  const paper = (i: number) =>
    `<tr><td style="padding:0 0 16px 0;font-family:Helvetica,Arial,sans-serif"><a href="https://huggingface.co/papers/2611.0${i}" style="color:#1a0dab;text-decoration:none">` +
    `大规模语言模型的推理 ${i}: Scaling “reasoning” — naïve café ünïcödé 🚀 a=b&amp;c</a></td></tr>`;
  const html =
    `<!doctype html><html><body><table>${Array.from({ length: 120 }, (_, i) => paper(i)).join('')}</table>\n` +
    `<p><a href="{{unsubscribe_url}}">Unsubscribe</a> · <a href="{{preferences_url}}">Preferences</a></p>\n.\n</body></html>`;
  const text =
    `{{unsubscribe_url}}{{preferences_url}}\nTrending ML papers — 2026-11-24\n\n` +
    Array.from(
      { length: 20 },
      (_, i) => `${i + 1}. 大规模语言模型的推理 ${i} — naïve café 🚀 ${'x'.repeat(i * 10)}  \n`,
    ).join('') +
    `\n.line that starts with a dot\nUnsubscribe: {{unsubscribe_url}}\nPreferences: {{preferences_url}}`;
  return {
    subject: 'Trending ML papers — 2026-11-24: 大规模语言模型的推理 and 🚀 “quotes” with a long long tail',
    html,
    text,
  };
}

const fill = (s: string, r: Recipient, escape: (v: string) => string) =>
  s
    .replaceAll('{{unsubscribe_url}}', escape(r.unsubscribeUrl))
    .replaceAll('{{preferences_url}}', escape(r.preferencesUrl));

/** The same message as sendMail() builds it, as the bytes an SMTP server would receive. */
async function viaNodemailer(c: DigestContent, r: Recipient): Promise<Buffer> {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await transport.sendMail({
    from: settings.from,
    to: r.to,
    subject: c.subject,
    html: fill(c.html, r, escapeHtml),
    text: fill(c.text, r, (v) => v),
    messageId: `<${r.messageId}>`,
    date: r.date,
    // "prepared": nodemailer would MIME-encode a List-Id holding quotes otherwise.
    headers: {
      'List-Unsubscribe': { prepared: true, value: listUnsubscribeValue(r.unsubscribeUrl, settings.unsubscribeMailto) },
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'List-Id': { prepared: true, value: settings.listId },
      'Auto-Submitted': 'auto-generated',
    },
  });
  return info.message as Buffer;
}

function lines(raw: Buffer): string[] {
  return raw.toString('latin1').split('\r\n');
}

function bodyLines(raw: Buffer): string[] {
  const all = lines(raw);
  return all.slice(all.indexOf(''));
}

const comparable = (m: ParsedMail) => ({
  subject: m.subject,
  text: m.text,
  html: m.html,
  from: m.from?.value,
  to: Array.isArray(m.to) ? m.to.map((a) => a.value) : m.to?.value,
  messageId: m.messageId,
  date: m.date?.toISOString(),
  // mailparser gathers the List-* headers into one "list" object: unsubscribe, unsubscribe-post, id.
  list: m.headers.get('list'),
});

describe('the fast-path digest message', () => {
  it('when parsed by mailparser, then it carries the same content as the message nodemailer builds', async () => {
    const c = content();
    const r = recipient(42);
    const fast = renderMessage(prepareMessage(c, settings), r);
    const slow = await viaNodemailer(c, r);
    const [a, b] = await Promise.all([simpleParser(fast.raw), simpleParser(slow)]);
    expect(comparable(a)).toEqual(comparable(b));
    expect(a.headers.get('list')).toEqual({
      unsubscribe: { url: r.unsubscribeUrl, mail: 'unsubscribe@papers.example.org?subject=unsubscribe' },
      'unsubscribe-post': { name: 'List-Unsubscribe=One-Click' },
      id: { name: 'Paperboy daily digest', id: 'daily.papers.example.org' },
    });
    expect(a.subject).toBe(c.subject);
    expect(a.text).toContain(`Unsubscribe: ${r.unsubscribeUrl}`);
    expect(a.html).toContain(`href="${r.preferencesUrl}"`);
    expect(a.html).toContain('大规模语言模型的推理 7');
    expect(fast.envelope).toEqual({ from: 'digest@papers.example.org', to: [r.to] });
  });

  it('when the digest is the real template (CJK titles, markup), then it reads the same as personalise() sent by nodemailer', async () => {
    const templates = await loadTemplates({
      publicUrl: 'https://papers.example.org',
      postalAddress: 'Paperboy, 1 Example Street',
    });
    const compiled = await templates.compileDigest({
      date: '2026-11-24',
      papers: fixturePapers('2026-11-24').slice(0, 20),
    });
    const r = recipient(5);
    const fast = renderMessage(prepareMessage(compiled, settings), r);
    // Personalised already: viaNodemailer's own filling finds no placeholder left.
    const slow = await viaNodemailer({ ...compiled, ...personalise(compiled, r) }, r);
    const [a, b] = await Promise.all([simpleParser(fast.raw), simpleParser(slow)]);
    expect(comparable(a)).toEqual(comparable(b));
    expect(a.html).toMatch(/[\u4e00-\u9fff]/);
    expect(a.text).toContain(`Unsubscribe: ${r.unsubscribeUrl}`);
    for (const line of lines(fast.raw)) expect(line.length).toBeLessThanOrEqual(998);
    for (const line of bodyLines(fast.raw)) expect(line.length).toBeLessThanOrEqual(76);
  });

  it('when rendered, then every line ends in CRLF, is at most 998 octets, and body lines are at most 76', () => {
    const raw = renderMessage(prepareMessage(content(), settings), recipient(7)).raw;
    expect(raw.toString('latin1')).not.toMatch(/[^\r]\n|\r(?!\n)/);
    for (const line of lines(raw)) expect(line.length).toBeLessThanOrEqual(998);
    for (const line of bodyLines(raw)) expect(line.length).toBeLessThanOrEqual(76);
    // 7-bit clean: every non-ASCII character went through an encoding.
    expect(/[^\x00-\x7f]/.test(raw.toString('latin1'))).toBe(false);
  });

  it('when a personal link is longer than a line, then it is wrapped and still decodes whole', async () => {
    const r = recipient(9, `https://papers.example.org/${'very-long-path-segment/'.repeat(6)}x`);
    const raw = renderMessage(prepareMessage(content(), settings), r).raw;
    for (const line of bodyLines(raw)) expect(line.length).toBeLessThanOrEqual(76);
    for (const line of lines(raw)) expect(line.length).toBeLessThanOrEqual(998);
    const parsed = await simpleParser(raw);
    expect(parsed.text).toContain(`Unsubscribe: ${r.unsubscribeUrl}\n`);
    expect(parsed.html).toContain(`href="${r.unsubscribeUrl}"`);
  });

  it('when two recipients share a variant, then their copies differ only in their own parts', async () => {
    const prepared = prepareMessage(content(), settings);
    const [a, b] = await Promise.all([1, 2].map((n) => simpleParser(renderMessage(prepared, recipient(n)).raw)));
    expect(a!.to).not.toEqual(b!.to);
    expect(a!.messageId).toBe('<digest.2026-11-24.1@papers.example.org>');
    expect(b!.text).toBe(a!.text!.replaceAll('/1.', '/2.'));
    expect(b!.html).toBe((a!.html as string).replaceAll('/1.', '/2.'));
  });

  it('when there is no mailto configured, then List-Unsubscribe holds the one-click URL alone', async () => {
    const r = recipient(3);
    const parsed = await simpleParser(
      renderMessage(prepareMessage(content(), { ...settings, unsubscribeMailto: undefined }), r).raw,
    );
    expect(parsed.headerLines.find((h) => h.key === 'list-unsubscribe')?.line.replace(/\r\n\s+/g, ' ')).toBe(
      `List-Unsubscribe: <${r.unsubscribeUrl}>`,
    );
  });

  it('when the address is not one plain address, then nothing is rendered (no header injection)', () => {
    const prepared = prepareMessage(content(), settings);
    for (const to of ['a@b.org\r\nBcc: x@y.org', 'A <a@b.org>', 'a@b.org, c@d.org']) {
      expect(() => renderMessage(prepared, { ...recipient(1), to })).toThrow(/not a plain email address/);
    }
  });
});
