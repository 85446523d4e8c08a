import { afterEach, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { csvField, parseCsv, planImport } from '../../src/domain/subscriber-import.ts';
import { emailSchema, keywordsSchema } from '../../src/domain/subscriber-input.ts';
import { testConfig } from '../support/test-context.ts';
import { runInProcess, runInProcessOn, runScript } from '../support/cli.ts';
import { cli } from '../../scripts/subscribers.ts';

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, CRLF or LF, and a BOM', () => {
    const text =
      '\ufeffemail,keywords\r\n"ada@example.org","llm, ""rl"""\n\nbob@example.org,"multi\nline"\ncyd@example.org,';
    expect(parseCsv(text)).toEqual([
      { line: 1, fields: ['email', 'keywords'] },
      { line: 2, fields: ['ada@example.org', 'llm, "rl"'] },
      { line: 4, fields: ['bob@example.org', 'multi\nline'] },
      { line: 6, fields: ['cyd@example.org', ''] },
    ]);
  });

  it('when a quote is not closed, then it names the line the field started on', () => {
    expect(() => parseCsv('email\n"ada@example.org\n')).toThrow(/^line 2: a quoted field is not closed/);
  });
});

describe('planImport', () => {
  it('when rows are valid, then they come out normalised, repeats counted once, unknown columns ignored', () => {
    const plan = planImport(
      'Email,Name,digest_size,keywords\nAda@Example.org,Ada,5," LLM , Diffusion,llm"\nada@example.org,Ada again,,\nbob@example.org,Bob,,\n',
    );
    expect(plan.problems).toEqual([]);
    expect(plan.rows).toEqual([
      {
        line: 2,
        email: 'Ada@Example.org',
        digestSize: 5,
        keywords: 'llm,diffusion',
        cadence: 'daily',
        timezone: null,
        deliveryHour: null,
      },
      {
        line: 4,
        email: 'bob@example.org',
        digestSize: 10,
        keywords: '',
        cadence: 'daily',
        timezone: null,
        deliveryHour: null,
      },
    ]);
    expect(plan.repeated).toBe(1);
    expect(plan.ignoredColumns).toEqual(['name']);
  });

  it('when rows are invalid, then every one is reported with its line number', () => {
    const plan = planImport(
      'email,digest_size,keywords\nok@example.org,10,\nnot-an-email,10,\nfine@example.org,7,\nalso@example.org,5,"<script>"\nshort@example.org\n',
    );
    expect(plan.problems).toEqual([
      {
        line: 3,
        message: 'email "not-an-email": That does not look like an email address (for example: ada@example.org).',
      },
      { line: 4, message: 'digest_size "7": Number of papers must be 5, 10 or 20.' },
      { line: 5, message: expect.stringMatching(/^keywords: Keywords are words of letters and digits/) },
      { line: 6, message: '1 fields, the header has 3' },
    ]);
  });

  it('when rows give a time zone and a delivery hour, then zones come out under their current names, and bad ones are reported per row', () => {
    const plan = planImport(
      'email,timezone,delivery_hour\nin@example.org,Asia/Calcutta,07\nno@example.org,,\nbad@example.org,Mars/Base,12\n',
    );
    expect(plan.rows.map((r) => [r.email, r.timezone, r.deliveryHour])).toEqual([
      ['in@example.org', 'Asia/Kolkata', 7],
      ['no@example.org', null, null],
    ]);
    expect(plan.problems).toEqual([
      {
        line: 4,
        message:
          'timezone: Time zone must be a time zone name such as Europe/Berlin or America/New_York (not "Mars/Base").; delivery_hour "12": Delivery hour must be a whole hour from 5 to 11.',
      },
    ]);
    expect(plan.ignoredColumns).toEqual([]);
  });

  it('when there is no email column, then that is the one problem', () => {
    expect(planImport('address\nada@example.org\n').problems).toEqual([
      { line: 1, message: 'no "email" column in the header (found: address)' },
    ]);
  });
});

describe('subscriber input schemas', () => {
  it('share the checks of the subscribe form', () => {
    expect(emailSchema.safeParse('  ada@example.org ').data).toBe('ada@example.org');
    expect(emailSchema.safeParse('ada@example').success).toBe(false);
    expect(keywordsSchema.safeParse('C++, Mixture of  Experts,c++').data).toBe('c++,mixture of experts');
    expect(keywordsSchema.safeParse(Array.from({ length: 11 }, (_, i) => `k${i}`).join(',')).success).toBe(false);
  });

  it('quotes a CSV field only when it must', () => {
    expect(csvField('llm,rl')).toBe('"llm,rl"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('plain')).toBe('plain');
  });
});

describe('npm run subscribers', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const setup = () => {
    const t = testConfig();
    dir = t.dir;
    return { DATABASE_PATH: t.config.DATABASE_PATH };
  };
  // The command's logic in this process; the spawned runs in this file hold its process contract.
  const run = (args: string[], env: Record<string, string>) => runInProcessOn(cli, args, env);

  it('when the file has a cadence column, then each row gets its cadence (daily when empty), and the export gives it back', async () => {
    const env = setup();
    const file = join(dir!, 'cadence.csv');
    writeFileSync(
      file,
      'email,cadence,digest_size\nwk@example.org,Weekly,5\ndy@example.org,daily,\nno@example.org,,\n',
    );
    const imported = await runScript('subscribers', ['import', file], env);
    expect(imported.code, imported.stderr).toBe(0);
    const exported = await runScript('subscribers', ['export'], env);
    expect(exported.stdout).toBe(
      'email,digest_size,keywords,cadence,timezone,delivery_hour\nwk@example.org,5,,weekly,,\ndy@example.org,10,,daily,,\nno@example.org,10,,daily,,\n',
    );
    // The export imports again as it was, into another database.
    const first = dir!;
    const other = setup();
    writeFileSync(file, exported.stdout);
    expect((await runScript('subscribers', ['import', file], other)).code).toBe(0);
    expect((await runScript('subscribers', ['export'], other)).stdout).toBe(exported.stdout);
    rmSync(other.DATABASE_PATH.replace(/\/[^/]+$/, ''), { recursive: true, force: true });
    dir = first;

    writeFileSync(file, 'email,cadence\nx@example.org,monthly\n');
    const bad = await runScript('subscribers', ['import', file], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr + bad.stdout).toMatch(/:2: cadence "monthly": How often must be daily or weekly\./);
  });

  it('when the file has timezone and delivery_hour columns, then the readers get them, export gives them back, and list shows them last', async () => {
    const env = setup();
    const file = join(dir!, 'zones.csv');
    writeFileSync(
      file,
      'email,delivery_hour,timezone\nin@example.org,7,Asia/Calcutta\nny@example.org,,America/New_York\nno@example.org,,\n',
    );
    const imported = await run(['import', file], env);
    expect(imported.code, imported.stderr).toBe(0);
    const exported = await run(['export'], env);
    expect(exported.stdout).toBe(
      'email,digest_size,keywords,cadence,timezone,delivery_hour\nin@example.org,10,,daily,Asia/Kolkata,7\nny@example.org,10,,daily,America/New_York,\nno@example.org,10,,daily,,\n',
    );
    const listed = (await run(['list'], env)).stdout.split('\n');
    expect(listed[1]).toMatch(/\tdaily\tAsia\/Kolkata\t7$/);
    expect(listed[3]).toMatch(/\tdaily\t-\t-$/);

    // The export imports again as it was, into another database.
    const first = dir!;
    const other = setup();
    writeFileSync(file, exported.stdout);
    expect((await run(['import', file], other)).code).toBe(0);
    expect((await run(['export'], other)).stdout).toBe(exported.stdout);
    rmSync(other.DATABASE_PATH.replace(/\/[^/]+$/, ''), { recursive: true, force: true });
    dir = first;

    writeFileSync(file, 'email,timezone,delivery_hour\nx@example.org,Atlantis,4\n');
    const bad = await run(['import', file], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /:2: timezone: Time zone must be .* \(not "Atlantis"\)\.; delivery_hour "4": Delivery hour/,
    );
  });

  it('imports a file as confirmed, skips duplicates, then exports, counts, lists and removes', async () => {
    const env = setup();
    const file = join(dir!, 'list.csv');
    writeFileSync(
      file,
      'email,digest_size,keywords\nada@example.org,5,"llm, rl"\nbob@example.org,,\nADA@example.org,20,\n',
    );
    const imported = await run(['import', file], env);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/^2 imported as confirmed; 1 repeated in the file \([\d.]+ s\)/);

    writeFileSync(file, 'email\nbob@example.org\ncyd@example.org\n');
    const again = await run(['import', file], env);
    expect(again.stdout).toMatch(/^1 imported as confirmed; 1 already on the list \(left as they were\)/);

    const exported = await run(['export'], env);
    const count = await run(['count'], env);
    const listed = await run(['list'], env);
    expect(exported.stdout).toBe(
      'email,digest_size,keywords,cadence,timezone,delivery_hour\nada@example.org,5,"llm,rl",daily,,\nbob@example.org,10,,daily,,\ncyd@example.org,10,,daily,,\n',
    );
    expect(count.stdout).toMatch(/^confirmed {4}3\npending {6}0\nunsubscribed 0\nsuppressed {3}0\ntotal {8}3\n$/);
    expect(listed.stdout.split('\n')[0]).toBe(
      'id\temail\tstatus\tsize\tkeywords\tconfirmed_at\tcreated_at\tcadence\ttimezone\tdelivery_hour',
    );
    expect(listed.stdout.split('\n')[1]).toMatch(/^1\tada@example\.org\tconfirmed\t5\tllm,rl\t\d{4}-.*\tdaily\t-\t-$/);

    const removed = await run(['remove', 'bob@example.org'], env);
    expect(removed.code).toBe(0);
    const db = new Database(env.DATABASE_PATH, { readonly: true });
    expect(db.prepare('SELECT email FROM subscribers ORDER BY id').pluck().all()).toEqual([
      'ada@example.org',
      'cyd@example.org',
    ]);
    db.close();
    expect((await run(['remove', 'bob@example.org'], env)).code).toBe(1);
  });

  it('when some rows are invalid, then each is reported with its line and nothing is imported', async () => {
    const env = setup();
    const file = join(dir!, 'bad.csv');
    writeFileSync(file, 'email,digest_size\ngood@example.org,10\nbad@,10\nalso-good@example.org,15\n');
    const r = await run(['import', file], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:3: email "bad@": That does not look like an email address`);
    expect(r.stderr).toContain(`${file}:4: digest_size "15": Number of papers must be 5, 10 or 20.`);
    expect(r.stderr).toMatch(/2 invalid rows: nothing imported/);
    const db = new Database(env.DATABASE_PATH, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM subscribers').pluck().get()).toBe(0);
    db.close();
  });

  // How fast is the bench's business (npm run bench), not a wall-clock limit here.
  it('when 100k rows are imported, then every one arrives, in one transaction', async () => {
    const env = setup();
    const file = join(dir!, 'big.csv');
    writeFileSync(
      file,
      'email,digest_size,keywords\n' +
        Array.from(
          { length: 100_000 },
          (_, i) => `user${i}@example.org,${[5, 10, 20][i % 3]},${i % 7 ? '' : '"llm, agents"'}`,
        ).join('\n'),
    );
    const r = await runScript('subscribers', ['import', file], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^100000 imported as confirmed/);
    expect((await runScript('subscribers', ['count'], env)).stdout).toMatch(/^confirmed +100000\n/);
  });

  it('when the command is unknown or missing its argument, then usage and exit 2', async () => {
    const unknown = await runInProcess(cli, ['frob']);
    const missing = await runInProcess(cli, ['remove']);
    const help = await runInProcess(cli, ['--help']);
    expect([unknown.code, missing.code, help.code]).toEqual([2, 2, 0]);
    expect(unknown.stderr).toMatch(/unknown command "frob"/);
    expect(help.stdout).toMatch(/^Usage: npm run subscribers -- COMMAND/);
  });
});
