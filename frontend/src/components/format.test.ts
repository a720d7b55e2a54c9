import { formatBoundedCount, formatCount, formatDuration, formatMoney, formatPercent, formatTokens } from './format';

describe('formatMoney', () => {
  it('shows costs under a dollar with four decimals', () => {
    expect(formatMoney(0.0123)).toBe('$0.0123');
    expect(formatMoney(0.5)).toBe('$0.5000');
  });
  it('shows sub-cent costs with two significant digits', () => {
    expect(formatMoney(0.00033)).toBe('$0.00033');
    expect(formatMoney(0.0000012)).toBe('$0.0000012');
    expect(formatMoney(0.0003)).toBe('$0.00030');
    expect(formatMoney(-0.00033)).toBe('-$0.00033');
  });
  it('keeps four decimals down to a tenth of a cent', () => {
    expect(formatMoney(0.0033)).toBe('$0.0033');
    expect(formatMoney(0.001)).toBe('$0.0010');
  });
  it('shows a dollar or more with two decimals and separators', () => {
    expect(formatMoney(1234.5)).toBe('$1,234.50');
    expect(formatMoney(1)).toBe('$1.00');
  });
  it('shows zero as $0.00 and nothing as a dash', () => {
    expect(formatMoney(0)).toBe('$0.00');
    expect(formatMoney(null)).toBe('—');
  });
});

describe('formatTokens', () => {
  it('separates thousands', () => {
    expect(formatTokens(1234)).toBe('1,234');
    expect(formatTokens(1234567)).toBe('1,234,567');
    expect(formatCount(0)).toBe('0');
  });
});

describe('formatDuration', () => {
  it('shows under a second in ms', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(0)).toBe('0 ms');
  });
  it('shows a second or more in s', () => {
    expect(formatDuration(1250)).toBe('1.25 s');
    expect(formatDuration(42_300)).toBe('42.3 s');
    expect(formatDuration(312_400)).toBe('312 s');
  });
  it('shows a missing duration as a dash', () => {
    expect(formatDuration(undefined)).toBe('—');
  });
});

describe('formatPercent', () => {
  it('shows a ratio as a percentage with one decimal', () => {
    expect(formatPercent(0.995)).toBe('99.5%');
    expect(formatPercent(null)).toBe('—');
  });
});

describe('formatBoundedCount', () => {
  it('adds a plus when the count stopped at its limit', () => {
    expect(formatBoundedCount({ count: 10000, complete: false })).toBe('10,000+');
    expect(formatBoundedCount({ count: 10000, complete: true })).toBe('10,000');
    expect(formatBoundedCount({ count: 12, complete: true })).toBe('12');
  });
  it('shows no rows before the first answer', () => {
    expect(formatBoundedCount(undefined)).toBe('0');
  });
});
