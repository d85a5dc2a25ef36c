import { describe, expect, it } from 'vitest';
import { parseMemory, raiseMemory } from '../../../src/gitops/quantity.ts';

describe('memory quantities', () => {
  it.each([
    ['512Mi', 512 * 2 ** 20, 'Mi'],
    ['1Gi', 2 ** 30, 'Gi'],
    ['1.5Gi', 1.5 * 2 ** 30, 'Gi'],
    ['500M', 500e6, 'M'],
    ['128974848', 128974848, ''],
    ['64k', 64e3, 'k'],
  ])('reads %s', (text, bytes, unit) => {
    expect(parseMemory(text)).toEqual({ bytes, unit });
  });

  it.each(['100m', '1e3', 'lots', '', '-1Gi'])('refuses %j', (text) => {
    expect(parseMemory(text)).toBeUndefined();
  });
});

describe('raising a memory limit', () => {
  it.each([
    ['512Mi', 50, null, '768Mi', false],
    ['1Gi', 50, null, '2Gi', false], // 1.5Gi rounds up to a whole Gi
    ['500M', 20, null, '600M', false],
    ['512Mi', 100, '768Mi', '768Mi', true],
    ['512Mi', 100, '1G', '953Mi', true], // capped at 1G, in the manifest's unit, rounded down to stay under it
    ['128974848', 10, null, '141872333', false],
  ])('%s + %d%% (max %s) is %s', (from, percent, max, to, capped) => {
    expect(raiseMemory(from, percent, max)).toEqual({ ok: true, from, to, capped });
  });

  it('refuses when the limit is already at the maximum', () => {
    expect(raiseMemory('1Gi', 50, '1Gi')).toEqual({
      ok: false,
      reason: "the limit 1Gi is already at the policy's maximum 1Gi",
    });
  });

  it('refuses what is not a memory quantity', () => {
    expect(raiseMemory('a lot', 50)).toMatchObject({ ok: false });
  });
});
