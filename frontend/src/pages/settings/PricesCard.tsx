// The model price table: model → USD per million input, output, cache-read and cache-write tokens.
import { useState } from 'react';
import { Alert, Button, Card, Input, InputNumber, Space, Table, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { formatDateTime } from '../../components/format';
import { PRICE_COLUMNS, pricesToRows, rowsToPrices, type PriceRow, type SettingSpec } from './spec';
import { useSaveSetting } from './useSaveSetting';
import { SettingHelp, SettingTitle, type Entry } from './FieldsCard';

type Keyed = PriceRow & { id: number };

export function PricesCard({ spec, entry, onSaved }: { spec: SettingSpec; entry: Entry | undefined; onSaved: () => void }) {
  const { t } = useTranslation();
  const { save, saving, cardError, setCardError } = useSaveSetting(spec.key, onSaved);
  // Keyed by the entry's update time in the page, so a saved table re-mounts the card.
  const [rows, setRows] = useState<Keyed[]>(() => pricesToRows(entry?.value).map((r, i) => ({ ...r, id: i })));
  const [filter, setFilter] = useState('');
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [nextId, setNextId] = useState(() => rows.length);

  const update = (id: number, patch: Partial<PriceRow>) => setRows((rs) => rs.map((r) => (r.id === id ? { ...r, ...patch } : r)));

  const submit = async () => {
    const { value, problems: found } = rowsToPrices(rows);
    const byCell: Record<string, string> = {};
    for (const p of found) byCell[`${rows[p.row].id}.${p.column}`] = t(p.problem.key, p.problem.values);
    setProblems(byCell);
    if (found.length > 0) {
      setCardError(t('settings.fixPrices'));
      return;
    }
    await save(value);
  };

  const cell = (r: Keyed, column: string) => problems[`${r.id}.${column}`];
  const shown = rows.filter((r) => r.model.toLowerCase().includes(filter.trim().toLowerCase()));

  return (
    <Card
      data-testid={`setting-${spec.key}`}
      size="small"
      title={<SettingTitle settingKey={spec.key} entry={entry} />}
      extra={entry?.updateTime && <Typography.Text type="secondary">{t('settings.updated', { at: formatDateTime(entry.updateTime) })}</Typography.Text>}
    >
      <SettingHelp settingKey={spec.key} entry={entry} />
      <Space style={{ marginBottom: 12 }}>
        <Input.Search allowClear placeholder={t('settings.filterModels')} value={filter} onChange={(e) => setFilter(e.target.value)} style={{ width: 240 }} />
        <Button
          data-testid="setting-model_prices-add"
          icon={<PlusOutlined />}
          onClick={() => {
            setRows((rs) => [{ id: nextId, model: '', input: 0, output: 0, cache_read: 0, cache_write: 0, cache_write_1h: null }, ...rs]);
            setNextId((n) => n + 1);
            setFilter('');
          }}
        >
          {t('settings.addModel')}
        </Button>
      </Space>
      <Table<Keyed>
        data-testid="setting-model_prices-table"
        size="small"
        rowKey="id"
        dataSource={shown}
        pagination={{ pageSize: 20, hideOnSinglePage: true, size: 'small' }}
        locale={{ emptyText: t('settings.noPrices') }}
        columns={[
          {
            title: t('settings.model'),
            render: (_, r) => (
              <>
                <Input
                  data-testid={`setting-model_prices-model-${r.model || 'new'}`}
                  value={r.model}
                  status={cell(r, 'model') ? 'error' : undefined}
                  onChange={(e) => update(r.id, { model: e.target.value })}
                />
                {cell(r, 'model') && <div className="ant-form-item-explain-error">{cell(r, 'model')}</div>}
              </>
            ),
          },
          ...PRICE_COLUMNS.map((column) => ({
            title: t(`settings.price.${column}`),
            width: 150,
            render: (_: unknown, r: Keyed) => (
              <>
                <InputNumber
                  data-testid={`setting-model_prices-${r.model || 'new'}-${column}`}
                  prefix="$"
                  min={0}
                  style={{ width: '100%' }}
                  value={r[column]}
                  status={cell(r, column) ? 'error' : undefined}
                  onChange={(v) => update(r.id, { [column]: v === null ? null : Number(v) })}
                />
                {cell(r, column) && <div className="ant-form-item-explain-error">{cell(r, column)}</div>}
              </>
            ),
          })),
          {
            width: 50,
            render: (_: unknown, r: Keyed) => (
              <Button type="text" danger icon={<DeleteOutlined />} aria-label={t('common.delete')} onClick={() => setRows((rs) => rs.filter((x) => x.id !== r.id))} />
            ),
          },
        ]}
      />
      <Typography.Text type="secondary">{t('settings.perMillion')}</Typography.Text>
      {cardError && <Alert type="error" showIcon style={{ margin: '12px 0' }} message={<span data-testid="setting-model_prices-error">{cardError}</span>} />}
      <div style={{ marginTop: 12 }}>
        <Button data-testid="setting-model_prices-save" type="primary" loading={saving} onClick={() => void submit()}>
          {t('common.save')}
        </Button>
      </div>
    </Card>
  );
}
