import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readMailPath, splitMbox } from '../../src/bounces/sources/mail-files.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paperboy-mail-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const texts = (path: string) =>
  [...readMailPath(path)].map((m) => [m.name.slice(dir.length + 1), m.raw.toString('latin1')]);

describe('reading mail from disk', () => {
  it('when given an mbox, then it splits on From lines after a blank line and unescapes >From lines', () => {
    const mbox = [
      'From a@example.org Mon Nov 23 08:00:00 2026',
      'Subject: one',
      '',
      '>From the start of a line',
      '>>From twice quoted',
      'From inside a paragraph is not a separator',
      '',
      'From b@example.org Mon Nov 23 09:00:00 2026',
      'Subject: two\r',
      '\r',
      'caf\xe9',
      '',
    ].join('\n');
    const messages = [...splitMbox(Buffer.from(mbox, 'latin1'), 'box')];
    expect(messages.map((m) => m.name)).toEqual(['box#1', 'box#2']);
    expect(messages[0]!.raw.toString('latin1')).toBe(
      'Subject: one\n\nFrom the start of a line\n>From twice quoted\nFrom inside a paragraph is not a separator\n',
    );
    // Bytes are kept: CRLF lines and 8-bit text come out as they went in.
    expect(messages[1]!.raw.toString('latin1')).toBe('Subject: two\r\n\r\ncaf\xe9\n');
  });

  it('when given a Maildir, then new/ and cur/ messages are read in name order, and tmp/ is left alone', () => {
    for (const d of ['new', 'cur', 'tmp']) mkdirSync(join(dir, 'md', d), { recursive: true });
    writeFileSync(join(dir, 'md', 'cur', 'b:2,S'), 'B');
    writeFileSync(join(dir, 'md', 'cur', 'a:2,S'), 'A');
    writeFileSync(join(dir, 'md', 'new', 'c'), 'C');
    writeFileSync(join(dir, 'md', 'tmp', 'd'), 'D');
    expect(texts(join(dir, 'md'))).toEqual([
      ['md/new/c', 'C'],
      ['md/cur/a:2,S', 'A'],
      ['md/cur/b:2,S', 'B'],
    ]);
  });

  it('when given a single message or a folder of .eml files, then each is one message', () => {
    writeFileSync(join(dir, 'x.eml'), 'Subject: x\n\nFrom here on, text.\n');
    writeFileSync(join(dir, 'notes.txt'), 'not mail');
    expect(texts(join(dir, 'x.eml'))).toEqual([['x.eml', 'Subject: x\n\nFrom here on, text.\n']]);
    expect(texts(dir)).toEqual([['x.eml', 'Subject: x\n\nFrom here on, text.\n']]);
  });

  it('when the path does not exist, then reading it throws', () => {
    expect(() => [...readMailPath(join(dir, 'nope'))]).toThrow(/ENOENT/);
  });
});
