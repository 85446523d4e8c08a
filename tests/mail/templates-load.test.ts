import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadTemplates, TemplateError, templatesDir } from '../../src/mail/templates.ts';

const settings = { publicUrl: 'https://papers.example.org/', postalAddress: 'Paperboy, 1 Example Street, Berlin' };

describe('confirm', () => {
  it('when rendered, then the button carries the escaped link and the text explains the 48 hours', async () => {
    const templates = await loadTemplates(settings);
    const mail = templates.confirm({ confirmUrl: 'https://papers.example.org/confirm?s=1&t="x"' });

    expect(mail.subject).toBe('Paperboy · Confirm your subscription');
    expect(mail.html).toContain('href="https://papers.example.org/confirm?s=1&#38;t=%22x%22"');
    expect(mail.html).toContain('Confirm your subscription');
    expect(mail.html).toContain('48 hours');
    expect(mail.html).not.toContain('Preferences');
    expect(mail.html).not.toContain('{{');
    expect(mail.text).toContain('https://papers.example.org/confirm?s=1&t=%22x%22');
    expect(mail.text).toContain('48 hours');
  });

  it('when a preferences link is given, then both parts show it', async () => {
    const templates = await loadTemplates(settings);
    const mail = templates.confirm({
      confirmUrl: 'https://papers.example.org/c',
      preferencesUrl: 'https://papers.example.org/p?a=1&b=2',
    });
    expect(mail.html).toContain('href="https://papers.example.org/p?a=1&#38;b=2"');
    expect(mail.text).toContain('Preferences: https://papers.example.org/p?a=1&b=2');
  });
});

describe('loadTemplates', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** A copy of the real templates with one file changed. */
  function brokenCopy(file: string, change: (source: string) => string): string {
    const dir = mkdtempSync(join(tmpdir(), 'paperboy-templates-'));
    dirs.push(dir);
    cpSync(templatesDir, dir, { recursive: true });
    writeFileSync(join(dir, file), change(readFileSync(join(dir, file), 'utf8')));
    return dir;
  }

  it('when the real templates load, then nothing throws', async () => {
    await expect(loadTemplates(settings)).resolves.toBeDefined();
  });

  it('when a partial has invalid MJML, then loading fails with the template named', async () => {
    const dir = brokenCopy('partials/paper.mjml', (s) => s.replace('<mj-text>', '<mj-text colour="red">'));
    await expect(loadTemplates(settings, dir)).rejects.toThrow(TemplateError);
    await expect(loadTemplates(settings, dir)).rejects.toThrow(/digest\.mjml does not compile.*colour/s);
  });

  it('when a component sits in the wrong place, then loading fails', async () => {
    const dir = brokenCopy('confirm.mjml', (s) =>
      s.replace('<mj-section padding="6px 12px">', '<mj-section padding="6px 12px"><mj-text>loose</mj-text>'),
    );
    await expect(loadTemplates(settings, dir)).rejects.toThrow(/confirm\.mjml does not compile/);
  });

  it('when a template uses an unknown placeholder, then loading fails', async () => {
    const dir = brokenCopy('partials/footer.mjml', (s) => s.replace('{{postal}}', '{{postal_adress}}'));
    await expect(loadTemplates(settings, dir)).rejects.toThrow(/unknown placeholder \{\{postal_adress\}\}/);
  });

  it('when a partial is missing or outside the folder, then loading fails', async () => {
    const missing = brokenCopy('digest.mjml', (s) => s.replace('./partials/footer.mjml', './partials/nope.mjml'));
    await expect(loadTemplates(settings, missing)).rejects.toThrow(/cannot read template \.\/partials\/nope\.mjml/);
    const outside = brokenCopy('digest.mjml', (s) => s.replace('./partials/footer.mjml', '../../etc/passwd'));
    await expect(loadTemplates(settings, outside)).rejects.toThrow(/outside the templates folder/);
  });
});
