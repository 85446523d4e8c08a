import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { CsvSyntaxError, parseCsv, planImport } from '../../src/domain/subscriber-import.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';

const base = { DATABASE_PATH: '/tmp/unused.sqlite', LOG_LEVEL: 'silent' };

describe('DIGEST_SIZE', () => {
  it('when it is not a size a subscriber can choose, then start-up stops naming the variable and the choices', () => {
    expect(loadConfig({ ...base, DIGEST_SIZE: '20' }).DIGEST_SIZE).toBe(20);
    expect(loadConfig(base).DIGEST_SIZE).toBe(10);
    for (const bad of ['15', '0', 'ten', '10.5']) {
      expect(() => loadConfig({ ...base, DIGEST_SIZE: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ ...base, DIGEST_SIZE: bad })).toThrow(/DIGEST_SIZE: must be one of 5, 10, 20/);
    }
  });
});

describe('the default size, wherever a size is not given', () => {
  let t: TestApp | undefined;
  afterEach(async () => t?.close());
  const sizeOf = (email: string) => t!.ctx.subscribers.byEmail(email)?.digestSize;

  it('when DIGEST_SIZE is 20, then the form preselects 20 and a form or JSON sign-up without a size gets 20', async () => {
    t = await createTestApp({ DIGEST_SIZE: '20', SUBSCRIBE_RATE_PER_IP: '0' });
    const page = (await t.app.inject('/')).body;
    expect(page).toContain('<option value="20" selected>20 papers</option>');
    expect(page).not.toMatch(/value="10" selected/);
    await t.app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'email=form%40example.org&digest_size=',
    });
    await t.app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: 'json@example.org' }),
    });
    expect(sizeOf('form@example.org')).toBe(20);
    expect(sizeOf('json@example.org')).toBe(20);
  });

  it('when the API is given a size outside the choices, then 400 names the field and the choices', async () => {
    t = await createTestApp({ SUBSCRIBE_RATE_PER_IP: '0' });
    const res = await t.app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: 'a@example.org', digest_size: 15 }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: 'invalid_input',
      field: 'digest_size',
      message: 'Number of papers must be 5, 10 or 20.',
    });
  });

  it('when an imported row has no size, then it gets the DIGEST_SIZE given, not 10', () => {
    const plan = planImport('email,digest_size\na@example.org,\nb@example.org,5\n', 20);
    expect(plan.rows.map((r) => r.digestSize)).toEqual([20, 5]);
  });
});

describe('parseCsv (csv-parse)', () => {
  const lineOf = (text: string) => {
    try {
      parseCsv(text);
    } catch (err) {
      if (err instanceof CsvSyntaxError) return err.message;
      throw err;
    }
    return 'parsed';
  };

  it('when a quoted field spanning lines is never closed, then the error names the line it started on', () => {
    expect(lineOf('email,keywords\nok@example.org,\n\n\nbad@example.org,"llm\nrl\n\n')).toBe(
      'line 5: a quoted field is not closed',
    );
  });

  it('when quotes are misplaced, then the error names the line and says what is wrong', () => {
    expect(lineOf('email\nok@example.org\n"ada@example.org"x\n')).toBe('line 3: text after a closing quote');
    expect(lineOf('email\nok@example.org\nada"@example.org\n')).toBe(
      'line 3: a quote inside an unquoted field (quote the whole field and double the quote)',
    );
  });

  it('when a record holds line breaks, then later records keep their own start lines (CR, LF or CRLF)', () => {
    expect(parseCsv('email,k\r\na@example.org,"x\r\ny\nz"\rb@example.org,\n')).toEqual([
      { line: 1, fields: ['email', 'k'] },
      { line: 2, fields: ['a@example.org', 'x\r\ny\nz'] },
      { line: 5, fields: ['b@example.org', ''] },
    ]);
  });
});
