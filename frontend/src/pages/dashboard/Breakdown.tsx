// Cost and tokens by model and by provider, and the figures of each key (`statsBy*`).
import { Card, Col, Row, Table, Tag } from 'antd';
import { useQuery } from 'urql';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/QueryState';
import { Count, Duration, Money, Tokens } from '../../components/Numbers';
import { formatPercent } from '../../components/format';
import { toStatsRange, type RangeChoice } from '../../components/range';
import { useRefetchOn } from '../../components/useRefresh';
import { DashboardBreakdown } from './operations';

interface Named {
  name: string;
  stats: { requests: number; totalTokens: number; cost: number };
}

function NamedTable({ id, title, rows, loading }: { id: string; title: string; rows: Named[]; loading: boolean }) {
  const { t } = useTranslation();
  return (
    <Card size="small" title={title} data-testid={id}>
      <Table<Named>
        size="small"
        rowKey="name"
        loading={loading}
        dataSource={rows}
        pagination={rows.length > 8 ? { pageSize: 8, size: 'small' } : false}
        locale={{ emptyText: t('dashboard.noRequests') }}
        columns={[
          { title: t('dashboard.name'), dataIndex: 'name', render: (v: string) => <Tag>{v}</Tag> },
          { title: t('dashboard.requests'), align: 'right', render: (_, r) => <Count value={r.stats.requests} /> },
          { title: t('dashboard.tokens'), align: 'right', render: (_, r) => <Tokens value={r.stats.totalTokens} /> },
          { title: t('dashboard.costUsd'), align: 'right', render: (_, r) => <Money value={r.stats.cost} /> },
        ]}
      />
    </Card>
  );
}

export function Breakdown({ range, refreshKey }: { range: RangeChoice; refreshKey: number }) {
  const { t } = useTranslation();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: DashboardBreakdown,
    variables: { range: toStatsRange(range) },
  });
  useRefetchOn(refreshKey, refetch);
  if (error && !data) return <ErrorAlert error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />;
  const loading = fetching && !data;
  type KeyRow = NonNullable<typeof data>['statsByKey'][number];
  return (
    <Row gutter={[16, 16]}>
      <Col xs={24} xl={12}>
        <NamedTable id="by-model" title={t('dashboard.byModel')} rows={data?.statsByModel ?? []} loading={loading} />
      </Col>
      <Col xs={24} xl={12}>
        <NamedTable id="by-provider" title={t('dashboard.byProvider')} rows={data?.statsByProvider ?? []} loading={loading} />
      </Col>
      <Col span={24}>
        <Card size="small" title={t('dashboard.byKey')}>
          <Table<KeyRow>
            data-testid="by-key-table"
            size="small"
            rowKey="keyId"
            loading={loading}
            dataSource={data?.statsByKey ?? []}
            pagination={{ pageSize: 10, size: 'small', hideOnSinglePage: true }}
            locale={{ emptyText: t('dashboard.noRequests') }}
            columns={[
              {
                title: t('dashboard.key'),
                render: (_, r) => (r.key ? r.key.name : t('dashboard.deletedKey', { id: r.keyId })),
              },
              { title: t('keys.provider'), render: (_, r) => (r.key ? <Tag>{r.key.provider}</Tag> : '—') },
              { title: t('dashboard.requests'), align: 'right', render: (_, r) => <Count value={r.stats.requests} /> },
              { title: t('dashboard.errors'), align: 'right', render: (_, r) => <Count value={r.stats.errors} /> },
              { title: t('dashboard.successRate'), align: 'right', render: (_, r) => formatPercent(r.stats.successRate) },
              { title: t('dashboard.tokens'), align: 'right', render: (_, r) => <Tokens value={r.stats.totalTokens} /> },
              { title: t('dashboard.costUsd'), align: 'right', render: (_, r) => <Money value={r.stats.cost} /> },
              { title: t('dashboard.avgLatencyTitle'), align: 'right', render: (_, r) => <Duration ms={r.stats.avgLatencyMs} /> },
            ]}
          />
        </Card>
      </Col>
    </Row>
  );
}
