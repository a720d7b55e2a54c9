// A key's health, from the fields the API gives (the server decides; we only pick the words).
import type { TFunction } from 'i18next';

export interface KeyHealthFields {
  enabled: boolean;
  available: boolean;
  disabledBy?: 'ADMIN' | 'AUTO' | null;
  disabledReason?: string | null;
  cooldownUntil?: string | null;
}

export type KeyHealth =
  | { state: 'active' }
  | { state: 'cooling'; until: string | null }
  | { state: 'disabledByAdmin' }
  | { state: 'autoDisabled'; reason: string | null };

export function keyHealth(key: KeyHealthFields): KeyHealth {
  if (!key.enabled) {
    return key.disabledBy === 'AUTO'
      ? { state: 'autoDisabled', reason: key.disabledReason ?? null }
      : { state: 'disabledByAdmin' };
  }
  if (!key.available) return { state: 'cooling', until: key.cooldownUntil ?? null };
  return { state: 'active' };
}

/** The sentence for a health state (`Cooling down until 13:05:09`, `Auto-disabled: no credit`). */
export function keyHealthText(health: KeyHealth, t: TFunction, formatTime: (iso: string) => string): string {
  switch (health.state) {
    case 'active':
      return t('health.active');
    case 'cooling':
      return health.until
        ? t('health.coolingUntil', { until: formatTime(health.until) })
        : t('health.cooling');
    case 'disabledByAdmin':
      return t('health.disabledByAdmin');
    case 'autoDisabled':
      return health.reason
        ? t('health.autoDisabledReason', { reason: health.reason })
        : t('health.autoDisabled');
  }
}
