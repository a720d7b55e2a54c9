// Inline number components, so tables and cards format the same way.
import { formatCount, formatDuration, formatMoney, formatTokens } from './format';

export function Money({ value }: { value: number | null | undefined }) {
  return <span className="num">{formatMoney(value)}</span>;
}

export function Tokens({ value }: { value: number | null | undefined }) {
  return <span className="num">{formatTokens(value)}</span>;
}

export function Count({ value }: { value: number | null | undefined }) {
  return <span className="num">{formatCount(value)}</span>;
}

export function Duration({ ms }: { ms: number | null | undefined }) {
  return <span className="num">{formatDuration(ms)}</span>;
}
