// The dashboard's time range and the `StatsRange` it asks the API for.
import type { StatsPreset, StatsRange } from '../gql/graphql';

export type RangeChoice =
  | { kind: 'preset'; preset: StatsPreset }
  | { kind: 'custom'; from: string; to: string };

export const PRESETS: StatsPreset[] = ['TODAY', 'LAST_24_HOURS', 'LAST_7_DAYS', 'LAST_30_DAYS'];

/** The browser's IANA time zone (for `TODAY` and day buckets), UTC when it cannot tell. */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

export function toStatsRange(choice: RangeChoice, timeZone = browserTimeZone()): StatsRange {
  return choice.kind === 'preset'
    ? { preset: choice.preset, timeZone }
    : { from: choice.from, to: choice.to, timeZone };
}

/** Hourly points up to two days, daily beyond. */
export function timelineGranularity(choice: RangeChoice): 'HOUR' | 'DAY' {
  if (choice.kind === 'preset') {
    return choice.preset === 'TODAY' || choice.preset === 'LAST_24_HOURS' ? 'HOUR' : 'DAY';
  }
  const hours = (Date.parse(choice.to) - Date.parse(choice.from)) / 3_600_000;
  return hours <= 48 ? 'HOUR' : 'DAY';
}
