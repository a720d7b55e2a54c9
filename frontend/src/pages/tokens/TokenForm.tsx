// Create a client token; its secret is shown once, in a modal with a copy button.
import { useState } from 'react';
import { Alert, Button, DatePicker, Form, Input, InputNumber, Modal, Select, Space, Typography } from 'antd';
import { CopyOutlined } from '@ant-design/icons';
import type { Dayjs } from 'dayjs';
import dayjs from 'dayjs';
import { useMutation } from 'urql';
import { useTranslation } from 'react-i18next';
import { describeError, fieldErrors } from '../../api/errors';
import { applyFieldErrors, ruleOf } from '../../components/formRules';
import { checkMemo, checkName } from '../keys/validation';
import { CreateAccessToken } from './operations';

interface Values {
  name: string;
  models?: string[];
  rpmLimit?: number | null;
  budget?: number | null;
  expiresAt?: Dayjs | null;
  memo?: string;
}

const FIELDS = ['name', 'models', 'rpmLimit', 'budget', 'expiresAt', 'memo'];

export function TokenForm({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: () => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<Values>();
  const [{ fetching }, create] = useMutation(CreateAccessToken);
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);

  const submit = async (v: Values) => {
    setError(null);
    const models = (v.models ?? []).map((m) => m.trim()).filter(Boolean);
    const result = await create({
      input: {
        name: v.name.trim(),
        models: models.length > 0 ? models : null,
        rpmLimit: v.rpmLimit ?? null,
        budget: v.budget ?? null,
        expiresAt: v.expiresAt ? v.expiresAt.toISOString() : null,
        memo: v.memo ?? '',
      },
    });
    if (result.error || !result.data) {
      const all = fieldErrors(result.error);
      const rest = applyFieldErrors(all, FIELDS, (f) => form.setFields(f as never));
      if (Object.keys(all).length === 0 || Object.keys(rest).length > 0) setError(describeError(result.error, t));
      return;
    }
    setSecret(result.data.createAccessToken.token);
    setCopied(false);
    form.resetFields();
    onClose();
    onCreated();
  };

  const copy = async () => {
    if (!secret) return;
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };

  return (
    <>
      <Modal
        open={open}
        title={t('tokens.addTitle')}
        onCancel={onClose}
        okText={t('tokens.create')}
        okButtonProps={{ loading: fetching, 'data-testid': 'token-form-submit' }}
        onOk={() => form.submit()}
        forceRender
      >
        <Form form={form} layout="vertical" onFinish={submit}>
          <Form.Item name="name" label={t('tokens.name')} rules={[ruleOf(checkName, t)]} required>
            <Input data-testid="token-form-name" maxLength={128} />
          </Form.Item>
          <Form.Item name="models" label={t('tokens.models')} extra={t('tokens.modelsHelp')}>
            <Select data-testid="token-form-models" mode="tags" tokenSeparators={[',', ' ']} open={false} suffixIcon={null} />
          </Form.Item>
          <Space size="large" align="start">
            <Form.Item name="rpmLimit" label={t('tokens.rpm')} extra={t('tokens.unlimitedHelp')}>
              <InputNumber data-testid="token-form-rpm" min={1} max={1_000_000} precision={0} style={{ width: 160 }} suffix={<span style={{ opacity: 0.6 }}>{t('tokens.perMinute')}</span>} />
            </Form.Item>
            <Form.Item name="budget" label={t('tokens.budget')} extra={t('tokens.unlimitedHelp')}>
              <InputNumber data-testid="token-form-budget" min={0} max={1e9} prefix="$" style={{ width: 160 }} />
            </Form.Item>
          </Space>
          <Form.Item
            name="expiresAt"
            label={t('tokens.expiresAt')}
            extra={t('tokens.expiresHelp')}
            rules={[
              {
                validator: (_, v: Dayjs | null | undefined) =>
                  !v || v.isAfter(dayjs()) ? Promise.resolve() : Promise.reject(new Error(t('tokens.expiresFuture'))),
              },
            ]}
          >
            <DatePicker data-testid="token-form-expires" showTime />
          </Form.Item>
          <Form.Item name="memo" label={t('keys.memo')} rules={[ruleOf(checkMemo, t)]}>
            <Input.TextArea data-testid="token-form-memo" autoSize={{ minRows: 1, maxRows: 4 }} />
          </Form.Item>
          {error && <Alert type="error" showIcon message={error} />}
        </Form>
      </Modal>
      <Modal
        open={secret !== null}
        title={t('tokens.secretTitle')}
        closable={false}
        maskClosable={false}
        footer={
          <Button type="primary" data-testid="token-secret-close" onClick={() => setSecret(null)}>
            {t('tokens.secretStored')}
          </Button>
        }
      >
        <Space direction="vertical" style={{ width: '100%' }}>
          <Alert type="warning" showIcon message={t('tokens.secretOnce')} />
          <Space.Compact style={{ width: '100%' }}>
            <Input readOnly value={secret ?? ''} className="mono" data-testid="token-secret" onFocus={(e) => e.target.select()} />
            <Button data-testid="token-secret-copy" icon={<CopyOutlined />} onClick={() => void copy()}>
              {copied ? t('tokens.copied') : t('tokens.copy')}
            </Button>
          </Space.Compact>
          <Typography.Text type="secondary">{t('tokens.secretUsage')}</Typography.Text>
        </Space>
      </Modal>
    </>
  );
}
