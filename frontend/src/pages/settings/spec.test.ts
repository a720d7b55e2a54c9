import { buildValue, checkField, placeApiError, pricesToRows, rowsToPrices, specOf, splitValue, storedSecrets } from './spec';

const proxy = specOf('proxy')!;
const alerts = specOf('alerts')!;
const field = (spec: typeof proxy, name: string) => spec.fields.find((f) => f.name === name)!;

describe('settings forms', () => {
  it('fills missing fields with defaults and keeps unknown ones aside', () => {
    const { typed, extras } = splitValue(proxy, { max_attempts: 5, future_knob: true });
    expect(typed.max_attempts).toBe(5);
    expect(typed.first_byte_timeout_ms).toBe(120_000);
    expect(extras).toEqual({ future_knob: true });
  });

  it('sends unknown fields back with the edited ones', () => {
    const { typed, extras } = splitValue(proxy, { max_attempts: 5, future_knob: true });
    const value = buildValue(proxy, { ...typed, max_attempts: 2 }, extras);
    expect(value).toMatchObject({ max_attempts: 2, future_knob: true, connect_timeout_ms: 10_000 });
  });

  it('refuses max_attempts outside 1–10, as the server does', () => {
    expect(checkField(field(proxy, 'max_attempts'), 0)?.key).toBe('validation.atLeast');
    expect(checkField(field(proxy, 'max_attempts'), 11)?.key).toBe('validation.atMost');
    expect(checkField(field(proxy, 'max_attempts'), 2.5)?.key).toBe('validation.integer');
    expect(checkField(field(proxy, 'max_attempts'), 3)).toBeNull();
    expect(checkField(field(proxy, 'connect_timeout_ms'), null)?.key).toBe('validation.required');
  });

  it('edits the newer proxy and health fields within the server ranges', () => {
    expect(checkField(field(proxy, 'max_sse_event_bytes'), 1024)?.key).toBe('validation.atLeast');
    expect(checkField(field(proxy, 'drain_after_disconnect_ms'), 600_001)?.key).toBe('validation.atMost');
    expect(checkField(field(proxy, 'drain_after_disconnect_ms'), 0)).toBeNull();
    expect(checkField(field(specOf('health')!, 'max_cooldown_secs'), 0)?.key).toBe('validation.atLeast');
    const { typed } = splitValue(proxy, {});
    expect(buildValue(proxy, { ...typed, access_log: false }, {})).toMatchObject({ access_log: false, max_sse_event_bytes: 4_194_304 });
  });

  it('stores the network switch as a boolean', () => {
    const network = specOf('network')!;
    expect(buildValue(network, splitValue(network, { allow_link_local_upstreams: false }).typed, {})).toEqual({ allow_link_local_upstreams: false });
    expect(buildValue(network, { allow_link_local_upstreams: true }, {})).toEqual({ allow_link_local_upstreams: true });
  });

  it('lets a nullable amount be empty but not negative', () => {
    expect(checkField(field(alerts, 'low_balance_usd'), null)).toBeNull();
    expect(checkField(field(alerts, 'low_balance_usd'), -1)?.key).toBe('validation.atLeast');
  });

  it('wants http(s) webhooks and known events', () => {
    expect(checkField(field(alerts, 'webhooks'), ['https://hooks.example.com/x'])).toBeNull();
    expect(checkField(field(alerts, 'webhooks'), ['ftp://x'])?.key).toBe('validation.webhook');
    expect(checkField(field(alerts, 'events'), ['key_disabled', 'nope'])?.key).toBe('validation.event');
  });

  it('wants key ids and non-negative amounts in key thresholds', () => {
    expect(checkField(field(alerts, 'key_thresholds'), { '3': 5 })).toBeNull();
    expect(checkField(field(alerts, 'key_thresholds'), { abc: 5 })?.key).toBe('validation.keyId');
  });

  it('leaves an empty default User-Agent to the server', () => {
    const { typed, extras } = splitValue(proxy, {});
    expect(buildValue(proxy, typed, extras)).not.toHaveProperty('default_user_agent');
    expect(buildValue(proxy, { ...typed, default_user_agent: 'MyPool/1' }, extras)).toHaveProperty('default_user_agent', 'MyPool/1');
  });

  it('leaves empty model lists to the server so /v1/models keeps its defaults', () => {
    const models = specOf('models')!;
    expect(buildValue(models, { openai: [], anthropic: ['claude-x'] }, {})).toEqual({ anthropic: ['claude-x'] });
  });

  it('never puts a stored (masked) secret in the form, and sends it back unless replaced or removed', () => {
    const metrics = specOf('metrics')!;
    const { typed } = splitValue(metrics, { token: 's3cr…oken' });
    expect(typed.token).toBe('');
    const kept = storedSecrets(metrics, { token: 's3cr…oken' });
    expect(buildValue(metrics, typed, {}, kept)).toEqual({ token: 's3cr…oken' });
    expect(buildValue(metrics, { token: 'new-one' }, {}, kept)).toEqual({ token: 'new-one' });
    expect(buildValue(metrics, typed, {}, {})).toEqual({ token: null });
  });

  it('stores an empty metrics token as null', () => {
    const metrics = specOf('metrics')!;
    expect(buildValue(metrics, { token: '' }, {})).toEqual({ token: null });
  });

  it('round-trips the price table and flags duplicate or negative rows', () => {
    const rows = pricesToRows({ 'gpt-4o': { input: 2.5, output: 10, cache_read: 1.25, cache_write: 0 } });
    expect(rowsToPrices(rows)).toEqual({ value: { 'gpt-4o': { input: 2.5, output: 10, cache_read: 1.25, cache_write: 0 } }, problems: [] });
    const claude = { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75, cache_write_1h: 6 };
    expect(rowsToPrices(pricesToRows({ 'claude-sonnet-4-5': claude })).value).toEqual({ 'claude-sonnet-4-5': claude });
    const bad = rowsToPrices([...rows, { ...rows[0], input: -1 }]);
    expect(bad.problems.map((p) => [p.row, p.column, p.problem.key])).toEqual([
      [1, 'model', 'validation.duplicateModel'],
      [1, 'input', 'validation.zeroOrMore'],
    ]);
  });

  it('puts an API error at the field it names', () => {
    expect(placeApiError(proxy, 'proxy.first_byte_timeout_ms', 'proxy.first_byte_timeout_ms: must be at least 1000')).toEqual({
      field: 'first_byte_timeout_ms',
      message: 'must be at least 1000',
    });
    expect(placeApiError(proxy, 'value', 'value: max_attempts must be 1 to 20')).toEqual({
      field: 'max_attempts',
      message: 'max_attempts must be 1 to 20',
    });
    expect(placeApiError(proxy, 'value', 'value: invalid type: string')).toEqual({ field: null, message: 'invalid type: string' });
  });
});
