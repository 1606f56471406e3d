import { describe, expect, it } from 'vitest';
import { daysAgo, formatPrice, formatRelative, formatUSD, isoDate } from './format';

describe('format', () => {
  it('prints money with two significant digits below a cent, cents above', () => {
    expect(formatUSD('0')).toBe('$0.00');
    expect(formatUSD('12.5')).toBe('$12.50');
    expect(formatUSD('0.00002')).toBe('$0.000020');
    expect(formatUSD('0.0012345')).toBe('$0.0012');
    expect(formatUSD('abc')).toBe('abc');
  });

  it('prints prices per million tokens', () => {
    expect(formatPrice('0.15')).toBe('$0.15/M');
    expect(formatPrice(undefined)).toBe('–');
  });

  it('prints relative times in both languages', () => {
    const now = new Date('2030-01-01T12:00:00Z');
    expect(formatRelative('2030-01-01T11:57:00Z', 'en-US', now)).toBe('3 min. ago');
    expect(formatRelative('2030-01-01T11:57:00Z', 'zh-CN', now)).toBe('3分钟前');
  });

  it('computes local calendar dates', () => {
    const d = new Date(2030, 0, 3);
    expect(isoDate(d)).toBe('2030-01-03');
    expect(daysAgo(3, d)).toBe('2029-12-31');
  });
});
