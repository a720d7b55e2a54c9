// Bulk import: paste many keys (`KEY` or `NAME,KEY` per line), see what was created, what was
// a duplicate and which lines could not be read.
import { useState } from 'react';
import { Alert, Form, Input, Modal, Select, Space, Table, Typography } from 'antd';
import { useMutation } from 'urql';
import { useTranslation } from 'react-i18next';
import type { ImportKeysMutation, Provider } from '../../gql/graphql';
import { describeError, fieldErrors } from '../../api/errors';
import { applyFieldErrors } from '../../components/formRules';
import { formatCount } from '../../components/format';
import { ImportKeys } from './operations';
import { PROVIDERS } from './KeyForm';

type Report = ImportKeysMutation['importKeys'];
type Line = Report['duplicates'][number];

interface Values {
  provider: Provider;
  keys: string;
  namePrefix?: string;
}

export function ImportModal({ open, onClose, onImported }: { open: boolean; onClose: () => void; onImported: () => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<Values>();
  const [{ fetching }, importKeys] = useMutation(ImportKeys);
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<string | null>(null);

  const submit = async (v: Values) => {
    setError(null);
    setReport(null);
    const result = await importKeys({
      input: { provider: v.provider, keys: v.keys, ...(v.namePrefix?.trim() ? { namePrefix: v.namePrefix.trim() } : {}) },
    });
    if (result.error || !result.data) {
      const rest = applyFieldErrors(fieldErrors(result.error), ['provider', 'keys', 'namePrefix'], (f) => form.setFields(f as never), {
        text: 'keys',
      });
      if (Object.keys(rest).length > 0 || Object.keys(fieldErrors(result.error)).length === 0) setError(describeError(result.error, t));
      return;
    }
    setReport(result.data.importKeys);
    // The report names lines by number with masked keys; the pasted secrets leave the page.
    form.setFieldValue('keys', '');
    onImported();
  };

  const close = () => {
    setReport(null);
    setError(null);
    form.resetFields();
    onClose();
  };

  const lines = (title: string, rows: Line[]) =>
    rows.length > 0 && (
      <>
        <Typography.Text strong>{title}</Typography.Text>
        <Table<Line>
          size="small"
          rowKey="line"
          dataSource={rows}
          pagination={rows.length > 10 ? { pageSize: 10, size: 'small' } : false}
          columns={[
            { title: t('import.line'), dataIndex: 'line', width: 70 },
            { title: t('keys.apiKey'), dataIndex: 'keyMasked', render: (v: string) => <span className="mono">{v}</span> },
            { title: t('import.reason'), dataIndex: 'reason' },
          ]}
        />
      </>
    );

  return (
    <Modal
      open={open}
      width={760}
      title={t('import.title')}
      onCancel={close}
      okText={t('import.submit')}
      cancelText={t('common.close')}
      okButtonProps={{ loading: fetching, 'data-testid': 'import-submit' }}
      onOk={() => form.submit()}
      forceRender
    >
      <Form form={form} layout="vertical" onFinish={submit} initialValues={{ provider: 'OPENAI' }}>
        <Space style={{ width: '100%' }} align="start">
          <Form.Item name="provider" label={t('keys.provider')} required>
            <Select
              data-testid="import-provider"
              style={{ width: 180 }}
              options={PROVIDERS.map((p) => ({ value: p, label: t(`provider.${p}`) }))}
            />
          </Form.Item>
          <Form.Item name="namePrefix" label={t('import.namePrefix')} extra={t('import.namePrefixHelp')}>
            <Input data-testid="import-name-prefix" style={{ width: 260 }} maxLength={100} />
          </Form.Item>
        </Space>
        <Form.Item
          name="keys"
          label={t('import.keys')}
          extra={t('import.keysHelp')}
          rules={[{ required: true, whitespace: true, message: t('validation.required') }]}
        >
          <Input.TextArea data-testid="import-text" autoSize={{ minRows: 6, maxRows: 14 }} className="mono" spellCheck={false} />
        </Form.Item>
      </Form>
      {error && <Alert type="error" showIcon message={error} />}
      {report && (
        <Space direction="vertical" style={{ width: '100%' }} data-testid="import-report">
          <Alert
            type={report.invalid.length > 0 ? 'warning' : 'success'}
            showIcon
            message={t('import.summary', {
              created: formatCount(report.created),
              duplicates: formatCount(report.duplicates.length),
              invalid: formatCount(report.invalid.length),
            })}
          />
          {lines(t('import.duplicates'), report.duplicates)}
          {lines(t('import.invalid'), report.invalid)}
        </Space>
      )}
    </Modal>
  );
}
