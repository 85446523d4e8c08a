import { CsvError, parse } from 'csv-parse/sync';
import type { z } from 'zod';
import { DEFAULT_DIGEST_SIZE, type DigestSize } from '../config.ts';
import type { Cadence } from '../model/cadence.ts';
import type { ImportRow } from '../model/subscriber.ts';
import {
  cadenceSchema,
  deliveryHourSchema,
  digestSizeSchema,
  emailSchema,
  keywordsSchema,
  timezoneSchema,
} from './subscriber-input.ts';

/**
 * Reading a list of subscribers exported from another tool: a CSV with a header row holding
 * `email` and optionally `digest_size`, `keywords`, `cadence`, `timezone` and `delivery_hour`
 * (other columns are ignored). Pure: the caller reads the file and stores the rows.
 */

export interface CsvRecord {
  /** The line the record starts on, from 1, as an editor shows it. */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

// csv-parse's codes for malformed quoting, said the way an operator fixing the file needs it.
const SYNTAX_MESSAGES: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is not closed',
  CSV_INVALID_CLOSING_QUOTE: 'text after a closing quote',
  INVALID_OPENING_QUOTE: 'a quote inside an unquoted field (quote the whole field and double the quote)',
};

/**
 * RFC 4180 through csv-parse: comma-separated, fields optionally in double quotes, "" for a quote
 * inside them, quoted fields may hold commas and line breaks; CRLF, LF or CR line ends; a leading
 * BOM is dropped. Blank lines are skipped.
 */
export function parseCsv(text: string): CsvRecord[] {
  const lines = lineCounter(text);
  const starts: number[] = [];
  try {
    const rows = parse(text, {
      bom: true,
      skip_empty_lines: true,
      // A row with the wrong number of fields is the caller's problem to report, with its line.
      relax_column_count: true,
      record_delimiter: ['\r\n', '\n', '\r'],
      on_record: (fields, { bytes }) => {
        starts.push(lines.nextRecord());
        lines.skipTo(bytes);
        return fields;
      },
    });
    return rows.map((fields, i) => ({ line: starts[i]!, fields }));
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    throw new CsvSyntaxError(lines.nextRecord(), SYNTAX_MESSAGES[err.code] ?? err.message);
  }
}

/**
 * Line numbers as an editor shows them (CRLF is one break). csv-parse's own count is of the
 * record's end, and counts a CRLF inside a quoted field twice; its byte offsets are exact.
 */
function lineCounter(text: string) {
  const buf = Buffer.from(text);
  const [CR, LF] = [0x0d, 0x0a];
  let at = 0;
  let line = 1;
  const skipTo = (offset: number) => {
    for (; at < offset && at < buf.length; at++) if (buf[at] === LF || (buf[at] === CR && buf[at + 1] !== LF)) line++;
  };
  return {
    skipTo,
    /** The line the next record starts on, past the blank lines csv-parse skips. */
    nextRecord() {
      while (buf[at] === CR || buf[at] === LF) skipTo(at + 1);
      return line;
    },
  };
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

/**
 * Checks every row with the same schemas as the subscribe form; reports all problems at once. A row
 * without a size gets `defaultDigestSize` (DIGEST_SIZE), as a sign-up without one does; one
 * without a cadence is daily.
 */
export function planImport(text: string, defaultDigestSize: DigestSize = DEFAULT_DIGEST_SIZE): ImportPlan {
  let records: CsvRecord[];
  try {
    records = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvSyntaxError)
      return {
        rows: [],
        problems: [{ line: err.line, message: err.message.replace(/^line \d+: /, '') }],
        repeated: 0,
        ignoredColumns: [],
      };
    throw err;
  }
  const [head, ...body] = records;
  if (!head)
    return {
      rows: [],
      problems: [{ line: 1, message: 'the file is empty: expected a header row with an "email" column' }],
      repeated: 0,
      ignoredColumns: [],
    };
  const columns = head.fields.map((f) => f.trim().toLowerCase());
  if (!columns.includes('email'))
    return {
      rows: [],
      problems: [{ line: head.line, message: `no "email" column in the header (found: ${columns.join(', ')})` }],
      repeated: 0,
      ignoredColumns: [],
    };

  const rows: ImportRow[] = [];
  const problems: ImportProblem[] = [];
  const seen = new Set<string>();
  let repeated = 0;
  for (const r of body) {
    if (r.fields.length !== columns.length) {
      problems.push({ line: r.line, message: `${r.fields.length} fields, the header has ${columns.length}` });
      continue;
    }
    const checked = checkRow(r, columns, defaultDigestSize);
    if ('errors' in checked) {
      problems.push({ line: r.line, message: checked.errors.join('; ') });
      continue;
    }
    // Addresses compare case-insensitively, as the subscribers table does (COLLATE NOCASE).
    const key = checked.email.toLowerCase();
    if (seen.has(key)) {
      repeated++;
      continue;
    }
    seen.add(key);
    rows.push(checked);
  }
  return { rows, problems, repeated, ignoredColumns: columns.filter((c) => !COLUMNS.includes(c)) };
}

const COLUMNS = ['email', 'digest_size', 'keywords', 'cadence', 'timezone', 'delivery_hour'];

/** One row through the form's schemas: the row, or every problem with it, each naming its column. */
function checkRow(r: CsvRecord, columns: string[], defaultDigestSize: DigestSize): ImportRow | { errors: string[] } {
  const cell = (name: string) => {
    const at = columns.indexOf(name);
    return at < 0 ? '' : r.fields[at]!;
  };
  const errors: string[] = [];
  /** An empty cell is `empty`; a bad one is reported with its value, unless `quote` is false. */
  const check = <T>(name: string, raw: string, empty: T, schema: z.ZodType<T>, quote = true) => {
    const result = raw === '' ? { success: true as const, data: empty } : schema.safeParse(raw);
    if (result.success) return result.data;
    errors.push(`${name}${quote ? ` ${JSON.stringify(raw)}` : ''}: ${result.error.issues[0]!.message}`);
    return empty;
  };
  const email = emailSchema.safeParse(cell('email'));
  if (!email.success) errors.push(`email ${JSON.stringify(cell('email'))}: ${email.error.issues[0]!.message}`);
  const row = {
    line: r.line,
    email: email.data ?? '',
    digestSize: check('digest_size', cell('digest_size').trim(), defaultDigestSize, digestSizeSchema),
    // Not quoted back: a keywords cell can be long.
    keywords: check('keywords', cell('keywords'), '', keywordsSchema, false),
    cadence: check('cadence', cell('cadence').trim().toLowerCase(), 'daily' as Cadence, cadenceSchema),
    // The zone's message quotes the value already.
    timezone: check('timezone', cell('timezone').trim(), null, timezoneSchema, false),
    deliveryHour: check('delivery_hour', cell('delivery_hour').trim(), null, deliveryHourSchema),
  };
  return errors.length ? { errors } : row;
}

/** One CSV field: quoted when it holds a comma, quote or line break. */
export function csvField(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
