import { digestSizeSchema, emailSchema, keywordsSchema, type DigestSize } from './subscriber-input.ts';

/**
 * Reading a list of subscribers exported from another tool: a CSV with a header row holding
 * `email` and optionally `digest_size` and `keywords` (other columns are ignored). Pure: the
 * caller reads the file and stores the rows.
 */

export interface CsvRecord {
  /** The line the record starts on, from 1, as an editor shows it. */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

/**
 * RFC 4180: comma-separated, fields optionally in double quotes, "" for a quote inside them,
 * quoted fields may hold commas and line breaks; CRLF or LF line ends; a leading BOM is dropped.
 * Blank lines are skipped.
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let line = 1;
  let i = 0;
  while (i < s.length) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let field = '';
      if (s[i] === '"') {
        i++;
        for (;;) {
          if (i >= s.length) throw new CsvSyntaxError(start, 'a quoted field is not closed');
          const c = s[i]!;
          if (c === '"') {
            if (s[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (i < s.length && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r') throw new CsvSyntaxError(line, 'text after a closing quote');
      } else {
        while (i < s.length && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r') field += s[i++];
        if (field.includes('"')) throw new CsvSyntaxError(line, 'a quote inside an unquoted field (quote the whole field and double the quote)');
      }
      fields.push(field);
      if (s[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (s[i] === '\r') i++;
    if (s[i] === '\n') i++;
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: start, fields });
    line++;
  }
  return records;
}

export interface ImportRow {
  line: number;
  email: string;
  digestSize: DigestSize;
  keywords: string;
}

export interface ImportProblem {
  line: number;
  message: string;
}

export interface ImportPlan {
  rows: ImportRow[];
  /** Every invalid row, with its line: if there is any, nothing is imported. */
  problems: ImportProblem[];
  /** Addresses that appear again further down the file (the first one counts). */
  repeated: number;
  ignoredColumns: string[];
}

const DEFAULT_DIGEST_SIZE: DigestSize = 10;

/** Checks every row with the same schemas as the subscribe form; reports all problems at once. */
export function planImport(text: string): ImportPlan {
  let records: CsvRecord[];
  try {
    records = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvSyntaxError) return { rows: [], problems: [{ line: err.line, message: err.message.replace(/^line \d+: /, '') }], repeated: 0, ignoredColumns: [] };
    throw err;
  }
  const [head, ...body] = records;
  if (!head) return { rows: [], problems: [{ line: 1, message: 'the file is empty: expected a header row with an "email" column' }], repeated: 0, ignoredColumns: [] };
  const columns = head.fields.map((f) => f.trim().toLowerCase());
  const col = (name: string) => columns.indexOf(name);
  const [emailAt, sizeAt, keywordsAt] = [col('email'), col('digest_size'), col('keywords')];
  if (emailAt < 0) return { rows: [], problems: [{ line: head.line, message: `no "email" column in the header (found: ${columns.join(', ')})` }], repeated: 0, ignoredColumns: [] };

  const rows: ImportRow[] = [];
  const problems: ImportProblem[] = [];
  const seen = new Set<string>();
  let repeated = 0;
  for (const r of body) {
    if (r.fields.length !== columns.length) {
      problems.push({ line: r.line, message: `${r.fields.length} fields, the header has ${columns.length}` });
      continue;
    }
    const errors: string[] = [];
    const email = emailSchema.safeParse(r.fields[emailAt]);
    if (!email.success) errors.push(`email ${JSON.stringify(r.fields[emailAt])}: ${email.error.issues[0]!.message}`);
    const rawSize = sizeAt < 0 ? '' : r.fields[sizeAt]!.trim();
    const size = rawSize === '' ? { success: true as const, data: DEFAULT_DIGEST_SIZE } : digestSizeSchema.safeParse(rawSize);
    if (!size.success) errors.push(`digest_size ${JSON.stringify(rawSize)}: ${size.error.issues[0]!.message}`);
    const keywords = keywordsSchema.safeParse(keywordsAt < 0 ? '' : r.fields[keywordsAt]);
    if (!keywords.success) errors.push(`keywords: ${keywords.error.issues[0]!.message}`);
    if (errors.length || !email.success || !size.success || !keywords.success) {
      problems.push({ line: r.line, message: errors.join('; ') });
      continue;
    }
    // Addresses compare case-insensitively, as the subscribers table does (COLLATE NOCASE).
    const key = email.data.toLowerCase();
    if (seen.has(key)) {
      repeated++;
      continue;
    }
    seen.add(key);
    rows.push({ line: r.line, email: email.data, digestSize: size.data, keywords: keywords.data });
  }
  const known = new Set(['email', 'digest_size', 'keywords']);
  return { rows, problems, repeated, ignoredColumns: columns.filter((c) => !known.has(c)) };
}

/** One CSV field: quoted when it holds a comma, quote or line break. */
export function csvField(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
