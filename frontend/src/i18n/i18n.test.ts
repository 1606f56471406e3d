import { describe, expect, it } from 'vitest';
import { en } from './en';
import { translate } from './index';
import { zh } from './zh';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('translations', () => {
  it('Chinese translates every key with the same placeholders', () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(zh[key].trim(), key).not.toBe('');
      expect(placeholders(zh[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(translate('en', 'usage.lastDays', { n: 7 })).toBe('Last 7 days');
    expect(translate('zh', 'usage.lastDays', { n: 7 })).toBe('最近 7 天');
    expect(translate('en', 'usage.lastDays', {})).toBe('Last {n} days');
  });
});
