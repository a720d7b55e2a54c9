// The run-time settings the console knows how to edit (README "Run-time settings"): each key's
// fields, their kinds, ranges, units and defaults. Fields the API answers that are not listed
// here are kept and edited as JSON, so a newer server never loses them.
import type { Problem } from '../../components/formRules';

export type FieldKind = 'int' | 'number' | 'nullableNumber' | 'string' | 'secret' | 'bool' | 'stringList' | 'urlList' | 'eventList' | 'thresholds';
export type Unit = 'ms' | 's' | 'bytes' | 'usd' | 'days' | 'rows' | 'attempts' | 'failures';

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  min?: number;
  max?: number;
  unit?: Unit;
  default: unknown;
  /** Left out of the saved value when empty, so the server's own default applies. */
  omitWhenEmpty?: boolean;
}

export interface SettingSpec {
  key: string;
  /** `prices` is the model price table: the whole value is a map of model → prices. */
  layout: 'fields' | 'prices';
  fields: FieldSpec[];
}

export const ALERT_EVENTS = ['key_disabled', 'balance_low', 'provider_unavailable', 'recovered'];

const HOUR_MS = 3_600_000;
const DAY_SECS = 86_400;
const MIB = 1024 * 1024;

export const SETTINGS: SettingSpec[] = [
  {
    key: 'proxy',
    layout: 'fields',
    fields: [
      { name: 'max_attempts', kind: 'int', min: 1, max: 10, unit: 'attempts', default: 3 },
      { name: 'connect_timeout_ms', kind: 'int', min: 100, max: HOUR_MS, unit: 'ms', default: 10_000 },
      { name: 'first_byte_timeout_ms', kind: 'int', min: 100, max: HOUR_MS, unit: 'ms', default: 120_000 },
      { name: 'stream_idle_timeout_ms', kind: 'int', min: 100, max: HOUR_MS, unit: 'ms', default: 300_000 },
      { name: 'default_user_agent', kind: 'string', default: '', omitWhenEmpty: true },
      { name: 'max_body_bytes', kind: 'int', min: 1024, max: 256 * MIB, unit: 'bytes', default: 32 * MIB },
      { name: 'max_sse_event_bytes', kind: 'int', min: 64 * 1024, max: 64 * MIB, unit: 'bytes', default: 4 * MIB },
      { name: 'drain_after_disconnect_ms', kind: 'int', min: 0, max: HOUR_MS / 6, unit: 'ms', default: 30_000 },
      { name: 'access_log', kind: 'bool', default: true },
      { name: 'session_ttl_secs', kind: 'int', min: 0, max: 7 * DAY_SECS, unit: 's', default: 3_600 },
    ],
  },
  {
    key: 'health',
    layout: 'fields',
    // failure_threshold / failure_window_secs are no longer used; a stored one stays in "Other fields".
    fields: [
      { name: 'rate_limit_cooldown_secs', kind: 'int', min: 1, max: DAY_SECS, unit: 's', default: 60 },
      { name: 'error_cooldown_secs', kind: 'int', min: 0, max: DAY_SECS, unit: 's', default: 10 },
      { name: 'max_cooldown_secs', kind: 'int', min: 1, max: DAY_SECS, unit: 's', default: 600 },
    ],
  },
  {
    key: 'network',
    layout: 'fields',
    fields: [{ name: 'allow_link_local_upstreams', kind: 'bool', default: false }],
  },
  { key: 'model_prices', layout: 'prices', fields: [] },
  {
    key: 'models',
    layout: 'fields',
    fields: [
      // The server's default lists are not in the API; an empty list leaves them in force.
      { name: 'openai', kind: 'stringList', default: [], omitWhenEmpty: true },
      { name: 'anthropic', kind: 'stringList', default: [], omitWhenEmpty: true },
    ],
  },
  {
    key: 'balance',
    layout: 'fields',
    fields: [{ name: 'refresh_interval_secs', kind: 'int', min: 0, max: 7 * DAY_SECS, unit: 's', default: 3600 }],
  },
  {
    key: 'alerts',
    layout: 'fields',
    fields: [
      { name: 'webhooks', kind: 'urlList', default: [] },
      { name: 'events', kind: 'eventList', default: ALERT_EVENTS },
      { name: 'low_balance_usd', kind: 'nullableNumber', min: 0, unit: 'usd', default: null },
      { name: 'key_thresholds', kind: 'thresholds', default: {} },
      { name: 'max_attempts', kind: 'int', min: 1, max: 10, unit: 'attempts', default: 4 },
    ],
  },
  {
    key: 'retention',
    layout: 'fields',
    fields: [
      { name: 'days', kind: 'int', min: 0, max: 3650, unit: 'days', default: 90 },
      { name: 'batch_size', kind: 'int', min: 1, max: 100_000, unit: 'rows', default: 1000 },
      { name: 'interval_secs', kind: 'int', min: 60, max: DAY_SECS, unit: 's', default: 3600 },
    ],
  },
  { key: 'metrics', layout: 'fields', fields: [{ name: 'token', kind: 'secret', default: null }] },
];

export function specOf(key: string): SettingSpec | undefined {
  return SETTINGS.find((s) => s.key === key);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The known fields (stored value, else the default) and the rest of a stored value. */
export function splitValue(spec: SettingSpec, value: unknown): { typed: Record<string, unknown>; extras: Record<string, unknown> } {
  const stored = isObject(value) ? value : {};
  const typed: Record<string, unknown> = {};
  const extras: Record<string, unknown> = { ...stored };
  for (const field of spec.fields) {
    // A stored secret never goes into the form (nor the DOM); see `storedSecrets`.
    typed[field.name] = field.kind === 'secret' ? '' : field.name in stored ? stored[field.name] : field.default;
    delete extras[field.name];
  }
  return { typed, extras };
}

/**
 * The secrets a stored value holds, by field, in the masked form the API shows them: kept on save
 * unless replaced or removed (the server keeps the stored secret when sent its masked form).
 */
export function storedSecrets(spec: SettingSpec, value: unknown): Record<string, string> {
  const stored = isObject(value) ? value : {};
  const out: Record<string, string> = {};
  for (const field of spec.fields) {
    const v = stored[field.name];
    if (field.kind === 'secret' && typeof v === 'string' && v !== '') out[field.name] = v;
  }
  return out;
}

/** The value to store: the extras first, so a typed field always wins. */
export function buildValue(
  spec: SettingSpec,
  typed: Record<string, unknown>,
  extras: Record<string, unknown>,
  kept: Record<string, string> = {},
): Record<string, unknown> {
  const value: Record<string, unknown> = { ...extras };
  for (const field of spec.fields) {
    let v = typed[field.name];
    if (field.kind === 'secret' || field.kind === 'string') v = typeof v === 'string' ? v : '';
    if (field.kind === 'bool') v = typeof v === 'boolean' ? v : Boolean(field.default);
    if (field.kind === 'secret' && v === '') v = kept[field.name] ?? null;
    if (field.kind === 'stringList' || field.kind === 'urlList' || field.kind === 'eventList') {
      v = Array.isArray(v) ? v.map((s) => String(s).trim()).filter(Boolean) : [];
    }
    if (field.omitWhenEmpty && (v === '' || v === null || (Array.isArray(v) && v.length === 0))) {
      delete value[field.name];
      continue;
    }
    value[field.name] = v;
  }
  return value;
}

/** Checks one field as the server would; null when it is fine. */
export function checkField(field: FieldSpec, value: unknown): Problem | null {
  switch (field.kind) {
    case 'int':
    case 'number':
    case 'nullableNumber': {
      if (value === null || value === undefined || value === '') {
        return field.kind === 'nullableNumber' ? null : { key: 'validation.required' };
      }
      const n = Number(value);
      if (!Number.isFinite(n)) return { key: 'validation.number' };
      if (field.kind === 'int' && !Number.isInteger(n)) return { key: 'validation.integer' };
      if (field.min !== undefined && n < field.min) return { key: 'validation.atLeast', values: { min: field.min } };
      if (field.max !== undefined && n > field.max) return { key: 'validation.atMost', values: { max: field.max } };
      return null;
    }
    case 'urlList': {
      const list = Array.isArray(value) ? value : [];
      const bad = list.find((u) => {
        try {
          const url = new URL(String(u));
          return url.protocol !== 'http:' && url.protocol !== 'https:';
        } catch {
          return true;
        }
      });
      return bad === undefined ? null : { key: 'validation.webhook', values: { url: String(bad) } };
    }
    case 'eventList': {
      const list = Array.isArray(value) ? value : [];
      const bad = list.find((e) => !ALERT_EVENTS.includes(String(e)));
      return bad === undefined ? null : { key: 'validation.event', values: { event: String(bad) } };
    }
    case 'thresholds': {
      if (!isObject(value)) return null;
      for (const [id, usd] of Object.entries(value)) {
        if (!/^\d+$/.test(id)) return { key: 'validation.keyId', values: { id } };
        if (typeof usd !== 'number' || !Number.isFinite(usd) || usd < 0) return { key: 'validation.zeroOrMore' };
      }
      return null;
    }
    default:
      return null;
  }
}

/** One row of the model price table. */
export interface PriceRow {
  model: string;
  input: number | null;
  output: number | null;
  cache_read: number | null;
  cache_write: number | null;
  /** Anthropic's one-hour cache write; empty (null) leaves the server's default, 2× input. */
  cache_write_1h: number | null;
}

export const PRICE_COLUMNS = ['input', 'output', 'cache_read', 'cache_write', 'cache_write_1h'] as const;

/** Columns the server fills in when they are absent, so an empty cell is left out. */
const OPTIONAL_PRICE_COLUMNS: ReadonlySet<string> = new Set(['cache_write_1h']);

export function pricesToRows(value: unknown): PriceRow[] {
  if (!isObject(value)) return [];
  return Object.entries(value).map(([model, p]) => {
    const price = isObject(p) ? p : {};
    const num = (k: string) => (typeof price[k] === 'number' ? (price[k] as number) : 0);
    const hour = typeof price.cache_write_1h === 'number' ? price.cache_write_1h : null;
    return { model, input: num('input'), output: num('output'), cache_read: num('cache_read'), cache_write: num('cache_write'), cache_write_1h: hour };
  });
}

/** Problems of the price table by row (`model` or a price column), and the value to store. */
export function rowsToPrices(rows: PriceRow[]): { value: Record<string, Record<string, number>>; problems: { row: number; column: string; problem: Problem }[] } {
  const value: Record<string, Record<string, number>> = {};
  const problems: { row: number; column: string; problem: Problem }[] = [];
  const seen = new Set<string>();
  rows.forEach((r, row) => {
    const model = r.model.trim();
    if (!model) problems.push({ row, column: 'model', problem: { key: 'validation.required' } });
    else if (seen.has(model)) problems.push({ row, column: 'model', problem: { key: 'validation.duplicateModel' } });
    seen.add(model);
    const price: Record<string, number> = {};
    for (const column of PRICE_COLUMNS) {
      if (r[column] === null && OPTIONAL_PRICE_COLUMNS.has(column)) continue;
      const n = r[column] ?? 0;
      if (!Number.isFinite(n) || n < 0) problems.push({ row, column, problem: { key: 'validation.zeroOrMore' } });
      price[column] = n;
    }
    if (model) value[model] = price;
  });
  return { value, problems };
}

/**
 * Where an API validation error belongs: the field it names (`proxy.first_byte_timeout_ms`,
 * or `value` with a message that starts with a field's name), else the card.
 */
export function placeApiError(spec: SettingSpec | undefined, field: string | undefined, message: string): { field: string | null; message: string } {
  const names = spec?.fields.map((f) => f.name) ?? [];
  if (spec && field) {
    const path = field.startsWith(`${spec.key}.`) ? field.slice(spec.key.length + 1) : field.startsWith('value.') ? field.slice(6) : field;
    const name = path.split(/[.[]/)[0];
    const bare = message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
    if (names.includes(name)) return { field: name, message: bare };
    const lead = names.find((n) => bare.startsWith(`${n} `) || bare.startsWith(`${n}:`));
    if (lead) return { field: lead, message: bare };
    return { field: null, message: bare };
  }
  return { field: null, message };
}
