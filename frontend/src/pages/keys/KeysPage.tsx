// Keys: the pool's upstream keys with health and balance; add, edit, import, enable/disable,
// refresh balance, delete (one or many). Key events from the server refresh the list live.
import { useEffect, useMemo, useState } from 'react';
import { Alert, App, Button, Input, Popconfirm, Select, Space, Table, Tag, Tooltip, Typography } from 'antd';
import {
  DeleteOutlined,
  EditOutlined,
  ImportOutlined,
  PlusOutlined,
  ReloadOutlined,
  StopOutlined,
  CheckCircleOutlined,
  SyncOutlined,
} from '@ant-design/icons';
import { useClient, useMutation, useQuery, useSubscription } from 'urql';
import { useTranslation } from 'react-i18next';
import type { KeyFieldsFragment, Provider } from '../../gql/graphql';
import { describeError } from '../../api/errors';
import { ErrorAlert } from '../../components/QueryState';
import { HealthBadge } from '../../components/HealthBadge';
import { keyHealth, type KeyHealth } from '../../components/keyHealth';
import { Money } from '../../components/Numbers';
import { DeleteKey, KeyEvents, KeysQuery, RefreshBalance, SetKeyEnabled } from './operations';
import { KeyForm, PROVIDERS } from './KeyForm';
import { ImportModal } from './ImportModal';
import { BalanceCell } from './BalanceCell';
import { useCoalesced } from '../../components/useRefresh';

type StateFilter = KeyHealth['state'] | 'all';

export default function KeysPage() {
  const { t } = useTranslation();
  const { message, modal } = App.useApp();
  const client = useClient();
  const [provider, setProvider] = useState<Provider | undefined>();
  const [state, setState] = useState<StateFilter>('all');
  const [searchText, setSearchText] = useState('');
  const [search, setSearch] = useState('');
  const [selected, setSelected] = useState<number[]>([]);
  const [editing, setEditing] = useState<KeyFieldsFragment | null>(null);
  const [formOpen, setFormOpen] = useState(false);
  const [importOpen, setImportOpen] = useState(false);
  const [busy, setBusy] = useState<Record<number, boolean>>({});
  const [bulkBusy, setBulkBusy] = useState(false);

  useEffect(() => {
    const timer = window.setTimeout(() => setSearch(searchText.trim()), 300);
    return () => window.clearTimeout(timer);
  }, [searchText]);

  const filter = useMemo(() => ({ ...(provider ? { provider } : {}), ...(search ? { search } : {}) }), [provider, search]);
  const [{ data, fetching, error }, refetch] = useQuery({ query: KeysQuery, variables: { filter } });
  const reload = () => refetch({ requestPolicy: 'network-only' });

  // Key events (disabled, cooled down, balance changed…) re-read the list, a few at a time.
  const reloadSoon = useCoalesced(reload, 300);
  useSubscription({ query: KeyEvents }, (_prev, event) => {
    reloadSoon();
    return event;
  });

  const [, setEnabled] = useMutation(SetKeyEnabled);
  const [, refreshBalance] = useMutation(RefreshBalance);
  const [, deleteKey] = useMutation(DeleteKey);

  const rows = (data?.keys ?? []).filter((k) => state === 'all' || keyHealth(k).state === state);

  const withBusy = async (id: number, run: () => Promise<{ error?: unknown }>, success: string) => {
    setBusy((b) => ({ ...b, [id]: true }));
    const result = await run();
    setBusy((b) => ({ ...b, [id]: false }));
    if (result.error) message.error(describeError(result.error, t));
    else message.success(success);
    reload();
  };

  const bulk = async (action: 'enable' | 'disable' | 'delete') => {
    setBulkBusy(true);
    const ids = selected.slice();
    const results = await Promise.all(
      ids.map((id) =>
        action === 'delete'
          ? client.mutation(DeleteKey, { id }).toPromise()
          : client.mutation(SetKeyEnabled, { id, enabled: action === 'enable' }).toPromise(),
      ),
    );
    setBulkBusy(false);
    const failed = results.filter((r) => r.error);
    if (failed.length > 0) {
      message.error(t('keys.bulkFailed', { failed: failed.length, total: ids.length, error: describeError(failed[0].error, t) }));
    } else {
      message.success(t(`keys.bulkDone.${action}`, { count: ids.length }));
    }
    setSelected([]);
    reload();
  };

  const confirmBulkDelete = () =>
    modal.confirm({
      title: t('keys.bulkDeleteConfirm', { count: selected.length }),
      okText: t('common.delete'),
      okButtonProps: { danger: true },
      cancelText: t('common.cancel'),
      onOk: () => bulk('delete'),
    });

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Space wrap style={{ width: '100%', justifyContent: 'space-between' }}>
        <Space wrap>
          <Input.Search
            data-testid="keys-search"
            allowClear
            placeholder={t('keys.searchPlaceholder')}
            value={searchText}
            onChange={(e) => setSearchText(e.target.value)}
            onSearch={(v) => setSearch(v.trim())}
            style={{ width: 260 }}
          />
          <Select
            data-testid="keys-filter-provider"
            allowClear
            placeholder={t('keys.allProviders')}
            style={{ width: 160 }}
            value={provider}
            onChange={setProvider}
            options={PROVIDERS.map((p) => ({ value: p, label: t(`provider.${p}`) }))}
          />
          <Select<StateFilter>
            data-testid="keys-filter-state"
            style={{ width: 180 }}
            value={state}
            onChange={setState}
            options={[
              { value: 'all', label: t('keys.allStates') },
              { value: 'active', label: t('health.active') },
              { value: 'cooling', label: t('health.cooling') },
              { value: 'disabledByAdmin', label: t('health.disabledByAdmin') },
              { value: 'autoDisabled', label: t('health.autoDisabled') },
            ]}
          />
          <Button icon={<ReloadOutlined />} onClick={reload} aria-label={t('common.reload')} />
        </Space>
        <Space wrap>
          <Button data-testid="key-import" icon={<ImportOutlined />} onClick={() => setImportOpen(true)}>
            {t('keys.import')}
          </Button>
          <Button
            data-testid="key-add"
            type="primary"
            icon={<PlusOutlined />}
            onClick={() => {
              setEditing(null);
              setFormOpen(true);
            }}
          >
            {t('keys.add')}
          </Button>
        </Space>
      </Space>

      {selected.length > 0 && (
        <Alert
          type="info"
          message={
            <Space wrap>
              {t('keys.selected', { count: selected.length })}
              <Button data-testid="bulk-enable" size="small" loading={bulkBusy} onClick={() => void bulk('enable')}>
                {t('keys.enable')}
              </Button>
              <Button data-testid="bulk-disable" size="small" loading={bulkBusy} onClick={() => void bulk('disable')}>
                {t('keys.disable')}
              </Button>
              <Button data-testid="bulk-delete" size="small" danger loading={bulkBusy} onClick={confirmBulkDelete}>
                {t('common.delete')}
              </Button>
              <Button size="small" type="link" onClick={() => setSelected([])}>
                {t('keys.clearSelection')}
              </Button>
            </Space>
          }
        />
      )}

      {error && <ErrorAlert error={error} onRetry={reload} />}

      <Table<KeyFieldsFragment>
        data-testid="keys-table"
        rowKey="id"
        size="middle"
        loading={fetching && !data}
        dataSource={rows}
        scroll={{ x: 1380 }}
        pagination={{ pageSize: 50, hideOnSinglePage: true, showSizeChanger: true }}
        rowSelection={{ selectedRowKeys: selected, onChange: (keys) => setSelected(keys as number[]) }}
        locale={{ emptyText: error ? t('common.loadFailed') : data?.keys.length ? t('keys.noMatch') : t('keys.empty') }}
        columns={[
          {
            title: t('keys.name'),
            dataIndex: 'name',
            fixed: 'left',
            width: 180,
            render: (_, k) => (
              <Space direction="vertical" size={0}>
                <Typography.Text strong>{k.name}</Typography.Text>
                <Typography.Text type="secondary" className="mono" data-testid="key-masked" style={{ fontSize: 12 }}>
                  {k.apiKeyMasked}
                </Typography.Text>
              </Space>
            ),
          },
          { title: t('keys.provider'), dataIndex: 'provider', width: 110, render: (p: Provider) => <Tag>{t(`provider.${p}`)}</Tag> },
          { title: t('keys.health'), width: 190, render: (_, k) => <HealthBadge apiKey={k} /> },
          { title: t('keys.balance'), width: 190, render: (_, k) => <BalanceCell apiKey={k} /> },
          { title: t('keys.spend'), width: 100, align: 'right', render: (_, k) => <Money value={k.spend} /> },
          {
            title: t('keys.priorityWeight'),
            width: 110,
            align: 'right',
            render: (_, k) => (
              <Tooltip title={t('keys.priorityWeightHelp')}>
                <span className="num">
                  {k.priority} / {k.weight}
                </span>
              </Tooltip>
            ),
          },
          {
            title: t('keys.upstream'),
            width: 240,
            render: (_, k) => {
              const line = (label: string, value: string | null | undefined, fallback: string) => (
                <div style={{ maxWidth: 230, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }} title={value || undefined}>
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {label}:{' '}
                  </Typography.Text>
                  {value ? <span className="mono" style={{ fontSize: 12 }}>{value}</span> : <Typography.Text type="secondary" style={{ fontSize: 12 }}>{fallback}</Typography.Text>}
                </div>
              );
              return (
                <>
                  {line(t('keys.baseUrlShort'), k.baseUrl, t('keys.default'))}
                  {line(t('keys.proxy'), k.proxyIp, t('keys.direct'))}
                  {line(t('keys.uaShort'), k.ua, t('keys.default'))}
                </>
              );
            },
          },
          { title: t('keys.memo'), dataIndex: 'memo', width: 160, ellipsis: { showTitle: true } },
          {
            title: t('common.actions'),
            fixed: 'right',
            width: 170,
            render: (_, k) => (
              <Space size={2}>
                <Tooltip title={t('common.edit')}>
                  <Button
                    data-testid="key-edit"
                    size="small"
                    type="text"
                    icon={<EditOutlined />}
                    aria-label={t('common.edit')}
                    onClick={() => {
                      setEditing(k);
                      setFormOpen(true);
                    }}
                  />
                </Tooltip>
                <Tooltip title={k.enabled ? t('keys.disable') : t('keys.enable')}>
                  <Button
                    data-testid="key-toggle"
                    size="small"
                    type="text"
                    loading={busy[k.id]}
                    icon={k.enabled ? <StopOutlined /> : <CheckCircleOutlined />}
                    aria-label={k.enabled ? t('keys.disable') : t('keys.enable')}
                    onClick={() =>
                      void withBusy(
                        k.id,
                        () => setEnabled({ id: k.id, enabled: !k.enabled }),
                        k.enabled ? t('keys.disabledMsg', { name: k.name }) : t('keys.enabledMsg', { name: k.name }),
                      )
                    }
                  />
                </Tooltip>
                <Tooltip title={t('keys.refreshBalance')}>
                  <Button
                    data-testid="key-refresh-balance"
                    size="small"
                    type="text"
                    icon={<SyncOutlined />}
                    aria-label={t('keys.refreshBalance')}
                    onClick={() => void withBusy(k.id, () => refreshBalance({ id: k.id }), t('keys.balanceRefreshed', { name: k.name }))}
                  />
                </Tooltip>
                <Popconfirm
                  title={t('keys.deleteConfirm', { name: k.name })}
                  okText={t('common.delete')}
                  cancelText={t('common.cancel')}
                  okButtonProps={{ danger: true }}
                  onConfirm={() => withBusy(k.id, () => deleteKey({ id: k.id }), t('keys.deleted', { name: k.name }))}
                >
                  <Button data-testid="key-delete" size="small" type="text" danger icon={<DeleteOutlined />} aria-label={t('common.delete')} />
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
      {formOpen && <KeyForm key={editing?.id ?? 'new'} editing={editing} onClose={() => setFormOpen(false)} onSaved={reload} />}
      <ImportModal open={importOpen} onClose={() => setImportOpen(false)} onImported={reload} />
    </Space>
  );
}
