// One setting with typed fields (`setting-<key>-<field>`); fields the console does not know are
// shown and kept in a JSON editor below them.
import { useState } from 'react';
import { Alert, Button, Card, Col, Form, Input, InputNumber, Row, Select, Space, Switch, Tag, Tooltip, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useQuery } from 'urql';
import { useTranslation } from 'react-i18next';
import { ruleOf } from '../../components/formRules';
import { formatDateTime } from '../../components/format';
import { ALERT_EVENTS, buildValue, checkField, splitValue, storedSecrets, type FieldSpec, type SettingSpec } from './spec';
import { ThresholdKeys } from './operations';
import { useSaveSetting } from './useSaveSetting';

export interface Entry {
  key: string;
  value: unknown;
  /** False when the value shown is the setting's default (nothing stored). */
  isSet?: boolean;
  /** What the setting shapes, from the server (English). */
  description?: string | null;
  updateTime?: string | null;
}

/** A card's title: the key (the server's description as its tooltip) and a `default` tag. */
export function SettingTitle({ settingKey, entry }: { settingKey: string; entry: Entry | undefined }) {
  const { t } = useTranslation();
  const isDefault = !entry || entry.isSet === false;
  return (
    <Space>
      <Tooltip title={entry?.description}>
        <span className="mono">{settingKey}</span>
      </Tooltip>
      {isDefault && (
        <Tag data-testid={`setting-${settingKey}-default`} bordered={false}>
          {t('settings.defaults')}
        </Tag>
      )}
    </Space>
  );
}

/** The card's subtitle: the console's own words for the setting, else the server's description. */
export function SettingHelp({ settingKey, entry }: { settingKey: string; entry: Entry | undefined }) {
  const { t } = useTranslation();
  return <Typography.Paragraph type="secondary">{t(`settings.help.${settingKey}`, { defaultValue: entry?.description ?? '' })}</Typography.Paragraph>;
}

function ThresholdsEditor({ id, value, onChange }: { id: string; value?: Record<string, number>; onChange?: (v: Record<string, number>) => void }) {
  const { t } = useTranslation();
  const [{ data }] = useQuery({ query: ThresholdKeys });
  const rows = Object.entries(value ?? {});
  const set = (next: [string, number][]) => onChange?.(Object.fromEntries(next));
  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid={id}>
      {rows.map(([keyId, usd], i) => (
        <Space key={i}>
          <Select
            style={{ width: 220 }}
            value={keyId}
            showSearch
            optionFilterProp="label"
            onChange={(k: string) => set(rows.map((r, j) => (j === i ? [k, r[1]] : r)))}
            options={(data?.keys ?? []).map((k) => ({ value: String(k.id), label: `${k.name} (#${k.id})` }))}
          />
          <InputNumber
            min={0}
            prefix="$"
            value={usd}
            onChange={(v) => set(rows.map((r, j) => (j === i ? [r[0], Number(v ?? 0)] : r)))}
          />
          <Button type="text" icon={<DeleteOutlined />} aria-label={t('common.delete')} onClick={() => set(rows.filter((_, j) => j !== i))} />
        </Space>
      ))}
      <Button
        size="small"
        icon={<PlusOutlined />}
        onClick={() => {
          const free = (data?.keys ?? []).find((k) => !(String(k.id) in (value ?? {})));
          if (free) set([...rows, [String(free.id), 5]]);
        }}
      >
        {t('settings.addThreshold')}
      </Button>
    </Space>
  );
}

const groupDigits = (v: string | number | undefined) => (v === undefined || v === '' ? '' : String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ','));
const ungroupDigits = (v: string | undefined) => (v ?? '').replace(/,/g, '');

/** The control of one field; Form.Item passes `value` and `onChange` through `control`. */
function FieldInput({ spec, field, ...control }: { spec: SettingSpec; field: FieldSpec; value?: never; onChange?: never; id?: string }) {
  const { t } = useTranslation();
  const id = `setting-${spec.key}-${field.name}`;
  const unit = field.unit ? t(`settings.unit.${field.unit}`) : undefined;
  switch (field.kind) {
    case 'int':
    case 'number':
    case 'nullableNumber':
      return (
        <InputNumber
          {...control}
          data-testid={id}
          style={{ width: '100%' }}
          precision={field.kind === 'int' ? 0 : undefined}
          formatter={field.kind === 'int' ? groupDigits : undefined}
          parser={field.kind === 'int' ? ungroupDigits : undefined}
          suffix={field.unit === 'usd' ? undefined : <span style={{ opacity: 0.6 }}>{unit}</span>}
          prefix={field.unit === 'usd' ? '$' : undefined}
          placeholder={field.kind === 'nullableNumber' ? t('settings.none') : undefined}
        />
      );
    case 'string':
      return <Input {...control} data-testid={id} placeholder={field.omitWhenEmpty ? t('settings.serverDefault') : undefined} />;
    case 'bool':
      return <Switch {...control} data-testid={id} />;
    case 'secret':
      return <Input.Password {...control} data-testid={id} placeholder={t('settings.none')} autoComplete="off" />;
    case 'stringList':
    case 'urlList':
      return (
        <Select
          {...control}
          data-testid={id}
          mode="tags"
          tokenSeparators={[',', ' ', '\n']}
          open={false}
          suffixIcon={null}
          placeholder={field.omitWhenEmpty ? t('settings.serverDefaultList') : t('settings.typeAndEnter')}
        />
      );
    case 'eventList':
      return <Select {...control} data-testid={id} mode="multiple" options={ALERT_EVENTS.map((e) => ({ value: e, label: t(`settings.event.${e}`) }))} />;
    case 'thresholds':
      return <ThresholdsEditor {...control} id={id} />;
  }
}

/**
 * A never-set value without the fields the server fills in itself (`omitWhenEmpty`: its
 * User-Agent with its version, its model lists), so saving the card does not pin them.
 */
function withoutServerDefaults(spec: SettingSpec, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const rest: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const field of spec.fields) if (field.omitWhenEmpty) delete rest[field.name];
  return rest;
}

export function FieldsCard({ spec, entry, onSaved }: { spec: SettingSpec; entry: Entry | undefined; onSaved: () => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<Record<string, unknown>>();
  const { save, saving, cardError } = useSaveSetting(spec.key, onSaved);
  // Keyed by the entry's update time in the page, so a saved value re-mounts the card.
  const [initial] = useState(() => splitValue(spec, entry?.isSet === false ? withoutServerDefaults(spec, entry.value) : entry?.value));
  const [extrasText, setExtrasText] = useState(() => JSON.stringify(initial.extras, null, 2));
  const [extrasError, setExtrasError] = useState<string | null>(null);
  const hasExtras = Object.keys(initial.extras).length > 0;
  const [kept, setKept] = useState<Record<string, string>>(() => storedSecrets(spec, entry?.value));

  const submit = async (typed: Record<string, unknown>) => {
    let extras: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(extrasText || '{}');
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      extras = parsed as Record<string, unknown>;
      setExtrasError(null);
    } catch {
      setExtrasError(t('settings.extrasInvalid'));
      return;
    }
    const fields = await save(buildValue(spec, typed, extras, kept));
    if (fields) form.setFields(Object.entries(fields).map(([name, message]) => ({ name, errors: [message] })));
  };

  return (
    <Card
      data-testid={`setting-${spec.key}`}
      size="small"
      title={<SettingTitle settingKey={spec.key} entry={entry} />}
      extra={entry?.updateTime && <Typography.Text type="secondary">{t('settings.updated', { at: formatDateTime(entry.updateTime) })}</Typography.Text>}
    >
      <SettingHelp settingKey={spec.key} entry={entry} />
      <Form form={form} layout="vertical" onFinish={submit} initialValues={initial.typed}>
        <Row gutter={16}>
          {spec.fields.map((field) => (
            <Col key={field.name} xs={24} md={['stringList', 'urlList', 'eventList', 'thresholds'].includes(field.kind) ? 24 : 12}>
              <Form.Item
                name={field.name}
                valuePropName={field.kind === 'bool' ? 'checked' : undefined}
                label={t(`settings.field.${spec.key}.${field.name}`, { defaultValue: field.name })}
                tooltip={<span className="mono">{field.name}</span>}
                rules={[ruleOf((v: unknown) => checkField(field, v), t)]}
                extra={
                  field.kind === 'secret' &&
                  (field.name in kept ? (
                    <Space size={4}>
                      {t('settings.secretSet', { masked: kept[field.name] })}
                      <Button
                        type="link"
                        size="small"
                        data-testid={`setting-${spec.key}-${field.name}-remove`}
                        onClick={() =>
                          setKept((k) => {
                            const next = { ...k };
                            delete next[field.name];
                            return next;
                          })
                        }
                      >
                        {t('settings.secretRemove')}
                      </Button>
                    </Space>
                  ) : (
                    t('settings.secretUnset')
                  ))
                }
              >
                <FieldInput spec={spec} field={field} />
              </Form.Item>
            </Col>
          ))}
        </Row>
        {hasExtras && (
          <Form.Item label={t('settings.extras')} extra={t('settings.extrasHelp')} validateStatus={extrasError ? 'error' : undefined} help={extrasError}>
            <Input.TextArea
              data-testid={`setting-${spec.key}-extras`}
              className="mono"
              autoSize={{ minRows: 2, maxRows: 12 }}
              value={extrasText}
              onChange={(e) => setExtrasText(e.target.value)}
            />
          </Form.Item>
        )}
        {cardError && <Alert type="error" showIcon style={{ marginBottom: 12 }} message={<span data-testid={`setting-${spec.key}-error`}>{cardError}</span>} />}
        <Button data-testid={`setting-${spec.key}-save`} type="primary" htmlType="submit" loading={saving}>
          {t('common.save')}
        </Button>
      </Form>
    </Card>
  );
}
