// Logs: the request log as a filtered, paginated table (Relay cursors), a detail drawer, and a
// live mode that re-reads the first page as attempts finish.
import { useEffect, useMemo, useState } from 'react';
import { Button, DatePicker, Input, Select, Space, Switch, Table, Tag, Typography } from 'antd';
import { LeftOutlined, RightOutlined, ReloadOutlined } from '@ant-design/icons';
import type { Dayjs } from 'dayjs';
import { useQuery, useSubscription } from 'urql';
import { useTranslation } from 'react-i18next';
import type { LogFieldsFragment, Provider, RequestLogFilter } from '../../gql/graphql';
import { ErrorAlert } from '../../components/QueryState';
import { Duration, Money, Tokens } from '../../components/Numbers';
import { formatBoundedCount, formatDateTime } from '../../components/format';
import { PROVIDERS } from '../keys/KeyForm';
import { LogEvents, LogKeys, RequestLogs } from './operations';
import { LogDrawer } from './LogDrawer';
import { useCoalesced } from '../../components/useRefresh';
import { STATUSES, StatusTag } from './StatusTag';

interface Filters {
  keyId?: number;
  model?: string;
  provider?: Provider;
  status?: string;
  requestId?: string;
  range?: [Dayjs, Dayjs];
}

export function toLogFilter(f: Filters): RequestLogFilter {
  return {
    ...(f.keyId !== undefined ? { keyId: f.keyId } : {}),
    ...(f.model?.trim() ? { model: f.model.trim() } : {}),
    ...(f.provider ? { provider: f.provider } : {}),
    ...(f.status ? { status: f.status } : {}),
    ...(f.requestId?.trim() ? { requestId: f.requestId.trim() } : {}),
    ...(f.range ? { from: f.range[0].toISOString(), to: f.range[1].toISOString() } : {}),
  };
}

export default function LogsPage() {
  const { t } = useTranslation();
  const [filters, setFilters] = useState<Filters>({});
  const [modelText, setModelText] = useState('');
  const [requestIdText, setRequestIdText] = useState('');
  const [pageSize, setPageSize] = useState(50);
  // Cursors of the pages walked so far, for the current filter and page size (a new filter or
  // size starts again from the newest rows).
  const [walk, setWalk] = useState<{ key: string; cursors: (string | null)[] }>({ key: '', cursors: [null] });
  const [live, setLive] = useState(false);
  const [open, setOpen] = useState<LogFieldsFragment | null>(null);

  // Text filters apply after typing stops.
  useEffect(() => {
    const timer = window.setTimeout(() => setFilters((f) => ({ ...f, model: modelText, requestId: requestIdText })), 400);
    return () => window.clearTimeout(timer);
  }, [modelText, requestIdText]);

  const filter = useMemo(() => toLogFilter(filters), [filters]);
  const walkKey = JSON.stringify([filter, pageSize]);
  const cursors = walk.key === walkKey ? walk.cursors : [null];
  const setCursors = (next: (string | null)[]) => setWalk({ key: walkKey, cursors: next });
  const after = cursors[cursors.length - 1];

  const [{ data, fetching, error }, refetch] = useQuery({
    query: RequestLogs,
    variables: { first: pageSize, after, filter },
  });
  const [{ data: keysData }] = useQuery({ query: LogKeys });
  const reload = () => refetch({ requestPolicy: 'network-only' });

  // Live: each finished attempt that matches re-reads the first page (a few per second at most).
  const reloadSoon = useCoalesced(reload, 500);
  const onFirstPage = cursors.length === 1;
  useSubscription(
    {
      query: LogEvents,
      variables: {
        filter: {
          ...(filter.keyId !== undefined ? { keyId: filter.keyId } : {}),
          ...(filter.model ? { model: filter.model } : {}),
          ...(filter.provider ? { provider: filter.provider } : {}),
          ...(filter.status ? { status: filter.status } : {}),
        },
      },
      pause: !live || !onFirstPage,
    },
    (_prev, event) => {
      if (event.requestEvents.phase === 'FINISHED') reloadSoon();
      return event;
    },
  );

  const connection = data?.requestLogs;
  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Space wrap>
        <Select
          data-testid="logs-filter-key"
          allowClear
          showSearch
          optionFilterProp="label"
          placeholder={t('logs.allKeys')}
          style={{ width: 200 }}
          value={filters.keyId}
          onChange={(keyId?: number) => set({ keyId })}
          options={(keysData?.keys ?? []).map((k) => ({ value: k.id, label: `${k.name} (${t(`provider.${k.provider}`)})` }))}
        />
        <Input
          data-testid="logs-filter-model"
          allowClear
          placeholder={t('logs.model')}
          style={{ width: 180 }}
          value={modelText}
          onChange={(e) => setModelText(e.target.value)}
        />
        <Select
          data-testid="logs-filter-provider"
          allowClear
          placeholder={t('keys.allProviders')}
          style={{ width: 150 }}
          value={filters.provider}
          onChange={(provider?: Provider) => set({ provider })}
          options={PROVIDERS.map((p) => ({ value: p, label: t(`provider.${p}`) }))}
        />
        <Select
          data-testid="logs-filter-status"
          allowClear
          placeholder={t('logs.allStatuses')}
          style={{ width: 160 }}
          value={filters.status}
          onChange={(status?: string) => set({ status })}
          options={STATUSES.map((s) => ({ value: s, label: s }))}
        />
        <DatePicker.RangePicker
          showTime
          value={filters.range ?? null}
          onChange={(v) => set({ range: v && v[0] && v[1] ? [v[0], v[1]] : undefined })}
        />
        <Input
          data-testid="logs-filter-request-id"
          allowClear
          placeholder={t('logs.requestId')}
          style={{ width: 300 }}
          className="mono"
          value={requestIdText}
          onChange={(e) => setRequestIdText(e.target.value)}
        />
        <Space>
          <Switch data-testid="logs-live" checked={live} onChange={setLive} />
          <Typography.Text>{t('logs.live')}</Typography.Text>
          {live && !onFirstPage && <Typography.Text type="secondary">{t('logs.liveFirstPage')}</Typography.Text>}
        </Space>
        <Button icon={<ReloadOutlined />} onClick={reload} aria-label={t('common.reload')} />
      </Space>

      {error && <ErrorAlert error={error} onRetry={reload} />}

      <Table<LogFieldsFragment>
        data-testid="logs-table"
        rowKey="id"
        size="small"
        loading={fetching && !data}
        dataSource={connection?.nodes ?? []}
        pagination={false}
        scroll={{ x: 1300 }}
        locale={{ emptyText: error ? t('common.loadFailed') : t('logs.empty') }}
        onRow={(r) => ({ onClick: () => setOpen(r), style: { cursor: 'pointer' } })}
        columns={[
          { title: t('logs.time'), width: 170, render: (_, r) => formatDateTime(r.createTime) },
          { title: t('logs.status'), width: 140, render: (_, r) => <StatusTag status={r.status} code={r.httpStatusCode} /> },
          { title: t('logs.model'), dataIndex: 'model', ellipsis: true },
          { title: t('logs.key'), width: 150, ellipsis: true, render: (_, r) => r.key?.name ?? (r.keyId !== null ? `#${r.keyId}` : '—') },
          { title: t('logs.provider'), width: 100, render: (_, r) => <Tag>{r.provider}</Tag> },
          { title: t('logs.attempt'), width: 80, align: 'right', dataIndex: 'attempt' },
          { title: t('logs.totalTokens'), width: 110, align: 'right', render: (_, r) => <Tokens value={r.totalTokens} /> },
          {
            title: t('logs.cost'),
            width: 110,
            align: 'right',
            render: (_, r) => (r.costUnknown ? <Typography.Text type="warning">{t('logs.costUnknownShort')}</Typography.Text> : <Money value={r.cost} />),
          },
          { title: t('logs.latency'), width: 100, align: 'right', render: (_, r) => <Duration ms={r.latencyMs} /> },
          { title: t('logs.errorType'), width: 140, ellipsis: true, render: (_, r) => r.errorType ?? '' },
          {
            title: t('logs.requestId'),
            width: 140,
            ellipsis: true,
            render: (_, r) => <span className="mono">{r.requestId}</span>,
          },
        ]}
      />
      <Space style={{ width: '100%', justifyContent: 'space-between' }}>
        <Typography.Text type="secondary" data-testid="logs-total">
          {/* Counted up to 10,000 ("10,000+" beyond): an exact count reads every matching row. */}
          {t('logs.total', { count: connection?.boundedCount?.count ?? 0, n: formatBoundedCount(connection?.boundedCount) })}
        </Typography.Text>
        <Space>
          <Select
            value={pageSize}
            onChange={setPageSize}
            style={{ width: 130 }}
            options={[20, 50, 100, 200].map((n) => ({ value: n, label: t('logs.perPage', { n }) }))}
          />
          <Button icon={<LeftOutlined />} disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
            {t('logs.newer')}
          </Button>
          <Typography.Text>{t('logs.page', { n: cursors.length })}</Typography.Text>
          <Button
            disabled={!connection?.pageInfo.hasNextPage}
            onClick={() => {
              const end = connection?.pageInfo.endCursor;
              if (end) setCursors([...cursors, end]);
            }}
          >
            {t('logs.older')} <RightOutlined />
          </Button>
        </Space>
      </Space>
      <LogDrawer log={open} onClose={() => setOpen(null)} onOpen={setOpen} />
    </Space>
  );
}
