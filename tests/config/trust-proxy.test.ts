import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

describe('TRUST_PROXY', () => {
  it.each([
    [undefined, false],
    ['false', false],
    ['true', 1],
    ['TRUE', 1],
    ['2', 2],
    ['10.0.0.0/8, 192.0.2.1', ['10.0.0.0/8', '192.0.2.1']],
    ['loopback,fd00::/8,10.0.0.0/255.0.0.0', ['loopback', 'fd00::/8', '10.0.0.0/255.0.0.0']],
  ])('when %o, then Fastify gets %o (true is one hop, not every hop)', (value, expected) => {
    expect(loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).TRUST_PROXY).toEqual(expected);
  });

  it.each(['yes', '-1', '10.0.0.0/33', 'proxy.example.org', '10.0.0.1,', '1.5'])(
    'when %o, then start-up stops naming TRUST_PROXY and its forms',
    (value) => {
      expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(
        /^invalid configuration: TRUST_PROXY: must be true, false, a number of proxy hops/,
      );
    },
  );
});
