// Formatters: every number the console shows goes through one of these, with its unit.
import dayjs from 'dayjs';

const EMPTY = '—';

/**
 * US dollars: 2 decimals from $1 up, 4 below (`$0.0123`), and below a cent as many as two
 * significant digits need, so one request's cost stays visible: `$0.00033`.
 */
export function formatMoney(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return EMPTY;
  const abs = Math.abs(usd);
  let decimals = 2;
  if (abs !== 0 && abs < 1) decimals = 4;
  // 0.00033 → 5 decimals (two significant digits); capped where Intl stops.
  if (abs !== 0 && abs < 0.01) decimals = Math.min(20, Math.max(4, 1 - Math.floor(Math.log10(abs))));
  return new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency: 'USD',
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  }).format(usd);
}

/** A count with thousands separators: `1,234`. */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return EMPTY;
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 }).format(n);
}

/** A count that stopped at its limit: "10,000+" when more rows matched than were counted. */
export function formatBoundedCount(bounded: { count: number; complete: boolean } | null | undefined): string {
  if (!bounded) return formatCount(0);
  return `${formatCount(bounded.count)}${bounded.complete ? '' : '+'}`;
}

/** Token counts are counts. */
export const formatTokens = formatCount;

/** Milliseconds as `850 ms`, `1.25 s`, `42.3 s` or `312 s`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return EMPTY;
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (Math.abs(s) < 10) return `${s.toFixed(2)} s`;
  if (Math.abs(s) < 100) return `${s.toFixed(1)} s`;
  return `${Math.round(s)} s`;
}

/** A 0–1 ratio as a percentage with one decimal: `99.5%`. */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return EMPTY;
  return `${(ratio * 100).toFixed(1)}%`;
}

/** A timestamp in the browser's time zone: `2026-11-26 13:05:09`. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return EMPTY;
  const d = dayjs(iso);
  return d.isValid() ? d.format('YYYY-MM-DD HH:mm:ss') : EMPTY;
}

/** A time of day for feeds: `13:05:09`. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return EMPTY;
  const d = dayjs(iso);
  return d.isValid() ? d.format('HH:mm:ss') : EMPTY;
}
