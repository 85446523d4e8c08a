import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** One message read from disk, named so an operator can find it again (`file`, `mbox#3`). */
export interface MailFile {
  name: string;
  raw: Buffer;
}

/**
 * The messages at `path`: a Maildir (its new/ and cur/ messages), a folder of .eml files, an mbox
 * file (a file starting with a `From ` line), or one message. Throws for a path that is none.
 */
export function* readMailPath(path: string): Generator<MailFile> {
  const stat = statSync(path);
  if (stat.isDirectory()) {
    const maildir = ['new', 'cur'].filter((d) => existsSync(join(path, d)));
    if (maildir.length) {
      for (const d of maildir) yield* filesIn(join(path, d), () => true);
    } else {
      yield* filesIn(path, (f) => f.toLowerCase().endsWith('.eml'));
    }
    return;
  }
  const raw = readFileSync(path);
  if (raw.subarray(0, 5).toString('latin1') === 'From ') yield* splitMbox(raw, path);
  else yield { name: path, raw };
}

function* filesIn(dir: string, wanted: (file: string) => boolean): Generator<MailFile> {
  for (const f of readdirSync(dir).sort()) {
    const file = join(dir, f);
    if (f.startsWith('.') || !wanted(f) || !statSync(file).isFile()) continue;
    yield { name: file, raw: readFileSync(file) };
  }
}

/**
 * mbox (mboxrd, which also reads mboxo): a message starts at a `From ` line at the top of the file
 * or after a blank line; the blank line before it belongs to the separator; `>From ` lines (any
 * number of `>`) lose one `>`. Bytes are kept as they are (latin1 maps each byte to one char).
 */
export function* splitMbox(raw: Buffer, name: string): Generator<MailFile> {
  const lines = raw.toString('latin1').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const blank = (l: string | undefined) => l === '' || l === '\r';
  let current: string[] | undefined;
  let n = 0;
  const finish = (): MailFile | undefined => {
    if (!current) return undefined;
    if (blank(current.at(-1))) current.pop();
    n++;
    return { name: `${name}#${n}`, raw: Buffer.from(current.map((l) => l + '\n').join(''), 'latin1') };
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('From ') && (i === 0 || blank(lines[i - 1]))) {
      const done = finish();
      if (done) yield done;
      current = [];
      continue;
    }
    current?.push(/^>+From /.test(line) ? line.slice(1) : line);
  }
  const last = finish();
  if (last) yield last;
}
