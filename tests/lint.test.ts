import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('..', import.meta.url));

/** A function of `lines` lines of code (its braces included), with a blank line and a comment after each statement. */
function functionOf(lines: number): string {
  const body = Array.from({ length: lines - 4 }, (_, i) => `  total += ${i};\n\n  // step ${i}`).join('\n');
  return `export function long(): number {\n  let total = 0;\n${body}\n  return total;\n}\n`;
}

async function lengthProblems(code: string, filePath: string): Promise<string[]> {
  const [result] = await new ESLint({ cwd: root }).lintText(code, { filePath: `${root}${filePath}` });
  return result!.messages.filter((m) => m.ruleId === 'max-lines-per-function').map((m) => m.message);
}

describe('npm run lint keeps functions short', () => {
  it('when a function in src/ or scripts/ has more than 80 lines of code, then lint reports it', async () => {
    expect(await lengthProblems(functionOf(81), 'src/long.ts')).toHaveLength(1);
    expect(await lengthProblems(functionOf(81), 'scripts/long.ts')).toHaveLength(1);
  });

  it('when a function has 80 lines of code and more of blank lines and comments, then lint accepts it', async () => {
    expect(await lengthProblems(functionOf(80), 'src/long.ts')).toEqual([]);
  });

  it('when a long function is in a test, then lint leaves it alone', async () => {
    expect(await lengthProblems(functionOf(81), 'tests/long.test.ts')).toEqual([]);
  });
});
