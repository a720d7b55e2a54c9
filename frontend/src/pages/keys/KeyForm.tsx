// Add or edit a key. Checks the fields as the API does, then shows the API's own field errors
// (`BAD_USER_INPUT` with `extensions.field`) at the field they name.
import { useState } from 'react';
import { Alert, App, Col, Form, Input, InputNumber, Modal, Row, Select, Switch } from 'antd';
import { useMutation } from 'urql';
import { useTranslation } from 'react-i18next';
import type { KeyFieldsFragment, Provider, UpdateKeyInput } from '../../gql/graphql';
import { apiErrors, asFieldSentence, describeError, fieldErrors } from '../../api/errors';
import { applyFieldErrors, ruleOf } from '../../components/formRules';
import { CreateKey, UpdateKey } from './operations';
import { checkApiKey, checkBaseUrl, checkMemo, checkName, checkProxy, checkRange, checkUserAgent } from './validation';

export const PROVIDERS: Provider[] = ['OPENAI', 'ANTHROPIC', 'AMP'];

interface Values {
  name: string;
  provider: Provider;
  apiKey?: string;
  baseUrl?: string;
  priority?: number | null;
  weight?: number | null;
  ua?: string;
  proxyIp?: string;
  totalBalance?: number | null;
  memo?: string;
  enabled?: boolean;
}

const FIELDS = ['name', 'provider', 'apiKey', 'baseUrl', 'priority', 'weight', 'ua', 'proxyIp', 'totalBalance', 'memo'] as const;

type Common = {
  name: string;
  ua: string;
  proxyIp: string;
  baseUrl: string;
  priority: number;
  weight: number;
  memo: string;
  totalBalance?: number;
};

/**
 * Only what the admin changed: the proxy comes back with its password masked, so sending the
 * shown value unchanged would overwrite the real one.
 */
export function changedFields(key: KeyFieldsFragment, next: Common, apiKey: string | undefined): UpdateKeyInput {
  const input: UpdateKeyInput = {};
  if (next.name !== key.name) input.name = next.name;
  if (next.ua !== key.ua) input.ua = next.ua;
  if (next.proxyIp !== key.proxyIp) input.proxyIp = next.proxyIp;
  if (next.baseUrl !== (key.baseUrl ?? '')) input.baseUrl = next.baseUrl;
  if (next.priority !== key.priority) input.priority = next.priority;
  if (next.weight !== key.weight) input.weight = next.weight;
  if (next.memo !== key.memo) input.memo = next.memo;
  if (next.totalBalance !== undefined && next.totalBalance !== key.totalBalance) input.totalBalance = next.totalBalance;
  if (apiKey?.trim()) input.apiKey = apiKey.trim();
  return input;
}

/** The form's first values: the key being edited, or a new key's defaults. */
function initialValues(editing: KeyFieldsFragment | null): Values {
  return editing
    ? {
        name: editing.name,
        provider: editing.provider,
        baseUrl: editing.baseUrl ?? '',
        priority: editing.priority,
        weight: editing.weight,
        ua: editing.ua,
        proxyIp: editing.proxyIp,
        totalBalance: editing.totalBalance,
        memo: editing.memo,
      }
    : { name: '', provider: 'OPENAI', priority: 0, weight: 1, enabled: true };
}

/** Mounted while open (keyed by the key), so every opening starts from the key's values. */
export function KeyForm({
  editing,
  onClose,
  onSaved,
}: {
  editing: KeyFieldsFragment | null;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const [formError, setFormError] = useState<string | null>(null);
  const [{ fetching: creating }, create] = useMutation(CreateKey);
  const [{ fetching: updating }, update] = useMutation(UpdateKey);

  const submit = async (v: Values) => {
    setFormError(null);
    const common: Common = {
      name: v.name.trim(),
      ua: v.ua ?? '',
      proxyIp: (v.proxyIp ?? '').trim(),
      baseUrl: (v.baseUrl ?? '').trim(),
      priority: v.priority ?? 0,
      weight: v.weight ?? 1,
      memo: v.memo ?? '',
      ...(v.totalBalance !== null && v.totalBalance !== undefined ? { totalBalance: v.totalBalance } : {}),
    };
    const result = editing
      ? await update({ id: editing.id, input: changedFields(editing, common, v.apiKey) })
      : await create({ input: { ...common, provider: v.provider, apiKey: (v.apiKey ?? '').trim(), enabled: v.enabled ?? true } });
    if (result.error) {
      // A key already in the pool is about the secret: say so at that field.
      const conflict = apiErrors(result.error).find((e) => e.code === 'CONFLICT');
      if (conflict) {
        form.setFields([{ name: 'apiKey', errors: [asFieldSentence(conflict.message)] }]);
        return;
      }
      const rest = applyFieldErrors(fieldErrors(result.error), FIELDS, (f) => form.setFields(f as never));
      const placedAll = Object.keys(rest).length === 0 && Object.keys(fieldErrors(result.error)).length > 0;
      if (!placedAll) setFormError(describeError(result.error, t));
      return;
    }
    // Drop the typed secret from the page at once.
    form.resetFields();
    message.success(editing ? t('keys.saved') : t('keys.created'));
    onSaved();
    onClose();
  };

  return (
    <Modal
      open
      width={720}
      title={editing ? t('keys.editTitle', { name: editing.name }) : t('keys.addTitle')}
      onCancel={onClose}
      okText={editing ? t('common.save') : t('keys.add')}
      okButtonProps={{ loading: creating || updating, 'data-testid': 'key-form-submit' }}
      onOk={() => form.submit()}
    >
      <Form form={form} layout="vertical" onFinish={submit} initialValues={initialValues(editing)}>
        <Row gutter={16}>
          <Col span={12}>
            <Form.Item name="name" label={t('keys.name')} rules={[ruleOf(checkName, t)]} required>
              <Input data-testid="key-form-name" maxLength={128} />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="provider" label={t('keys.provider')} required>
              <Select
                data-testid="key-form-provider"
                disabled={!!editing}
                options={PROVIDERS.map((p) => ({ value: p, label: t(`provider.${p}`) }))}
              />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item
          name="apiKey"
          label={t('keys.apiKey')}
          extra={editing ? t('keys.apiKeyKeep', { masked: editing.apiKeyMasked }) : undefined}
          rules={[ruleOf((v: string | undefined) => checkApiKey(v, !editing), t)]}
          required={!editing}
        >
          <Input.Password data-testid="key-form-apikey" autoComplete="off" visibilityToggle={false} />
        </Form.Item>
        <Form.Item name="baseUrl" label={t('keys.baseUrl')} extra={t('keys.baseUrlHelp')} rules={[ruleOf(checkBaseUrl, t)]}>
          <Input data-testid="key-form-baseurl" placeholder="https://api.openai.com" />
        </Form.Item>
        <Row gutter={16}>
          <Col span={8}>
            <Form.Item
              name="priority"
              label={t('keys.priority')}
              extra={t('keys.priorityHelp')}
              rules={[ruleOf((v: number | null) => checkRange(v, -1000, 1000), t)]}
            >
              <InputNumber data-testid="key-form-priority" style={{ width: '100%' }} precision={0} />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item
              name="weight"
              label={t('keys.weight')}
              extra={t('keys.weightHelp')}
              rules={[ruleOf((v: number | null) => checkRange(v, 1, 1000), t)]}
            >
              <InputNumber data-testid="key-form-weight" style={{ width: '100%' }} precision={0} />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item name="totalBalance" label={t('keys.totalBalance')} extra={t('keys.totalBalanceHelp')}>
              <InputNumber data-testid="key-form-total-balance" style={{ width: '100%' }} min={0} prefix="$" />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item name="ua" label={t('keys.ua')} extra={t('keys.uaHelp')} rules={[ruleOf(checkUserAgent, t)]}>
          <Input data-testid="key-form-ua" />
        </Form.Item>
        <Form.Item name="proxyIp" label={t('keys.proxy')} extra={t('keys.proxyHelp')} rules={[ruleOf(checkProxy, t)]}>
          <Input data-testid="key-form-proxy" placeholder="socks5h://user:pass@10.0.0.1:1080" />
        </Form.Item>
        <Form.Item name="memo" label={t('keys.memo')} rules={[ruleOf(checkMemo, t)]}>
          <Input.TextArea data-testid="key-form-memo" autoSize={{ minRows: 1, maxRows: 4 }} />
        </Form.Item>
        {!editing && (
          <Form.Item name="enabled" label={t('keys.enabledOnCreate')} valuePropName="checked">
            <Switch data-testid="key-form-enabled" />
          </Form.Item>
        )}
        {formError && <Alert type="error" showIcon message={formError} data-testid="key-form-error" />}
      </Form>
    </Modal>
  );
}
