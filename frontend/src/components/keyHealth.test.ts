import i18n from '../i18n';
import { keyHealth, keyHealthText } from './keyHealth';

const t = i18n.getFixedT('en');
const time = (iso: string) => iso.slice(11, 16);
const base = { enabled: true, available: true, disabledBy: null, disabledReason: null, cooldownUntil: null };

describe('key health', () => {
  it('calls an enabled, available key active', () => {
    expect(keyHealthText(keyHealth(base), t, time)).toBe('Active');
  });
  it('says until when a key is cooling down', () => {
    const key = { ...base, available: false, cooldownUntil: '2026-11-26T13:05:00Z' };
    expect(keyHealthText(keyHealth(key), t, time)).toBe('Cooling down until 13:05');
  });
  it('says an admin disabled a key', () => {
    const key = { ...base, enabled: false, available: false, disabledBy: 'ADMIN' as const };
    expect(keyHealthText(keyHealth(key), t, time)).toBe('Disabled by admin');
  });
  it('gives the reason of an automatic disable', () => {
    const key = { ...base, enabled: false, available: false, disabledBy: 'AUTO' as const, disabledReason: 'no credit' };
    expect(keyHealthText(keyHealth(key), t, time)).toBe('Auto-disabled: no credit');
  });
  it('trusts the server over a past cooldown time', () => {
    const key = { ...base, cooldownUntil: '2020-01-01T00:00:00Z' };
    expect(keyHealth(key).state).toBe('active');
  });
});
