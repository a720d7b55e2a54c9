// The totals of the range (`statsOverview`) and how many keys are healthy.
import { Card, Col, Row, Skeleton, Typography } from 'antd';
import { useQuery } from 'urql';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/QueryState';
import { formatCount, formatDuration, formatMoney, formatPercent, formatTokens } from '../../components/format';
import { toStatsRange, type RangeChoice } from '../../components/range';
import { useRefetchOn } from '../../components/useRefresh';
import { DashboardStats } from './operations';

function StatCard({ id, title, value, note }: { id: string; title: string; value: string; note?: string }) {
  return (
    <Card size="small">
      <Typography.Text type="secondary">{title}</Typography.Text>
      <div data-testid={id} className="num" style={{ fontSize: 26, fontWeight: 600, lineHeight: 1.4 }}>
        {value}
      </div>
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {note ?? '\u00a0'}
      </Typography.Text>
    </Card>
  );
}

export function StatCards({ range, refreshKey }: { range: RangeChoice; refreshKey: number }) {
  const { t } = useTranslation();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: DashboardStats,
    variables: { range: toStatsRange(range) },
  });
  useRefetchOn(refreshKey, refetch);
  if (error && !data) return <ErrorAlert error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (fetching && !data) return <Skeleton active />;
  const s = data?.statsOverview;
  const keys = data?.keys ?? [];
  const healthy = keys.filter((k) => k.available).length;
  const cards = [
    {
      id: 'stat-requests',
      title: t('dashboard.requests'),
      value: formatCount(s?.requests),
      note: t('dashboard.requestsNote', { errors: formatCount(s?.errors) }),
    },
    {
      id: 'stat-success-rate',
      title: t('dashboard.successRate'),
      value: formatPercent(s?.successRate),
      note: t('dashboard.avgLatency', { latency: formatDuration(s?.avgLatencyMs) }),
    },
    {
      id: 'stat-tokens',
      title: t('dashboard.tokens'),
      value: formatTokens(s?.totalTokens),
      note: t('dashboard.tokensNote', { input: formatTokens(s?.inputTokens), output: formatTokens(s?.outputTokens) }),
    },
    { id: 'stat-cost', title: t('dashboard.costUsd'), value: formatMoney(s?.cost) },
    {
      id: 'stat-keys',
      title: t('dashboard.healthyKeys'),
      value: `${formatCount(healthy)} / ${formatCount(keys.length)}`,
      note: t('dashboard.keysNote'),
    },
  ];
  return (
    <Row gutter={[16, 16]}>
      {cards.map((c) => (
        <Col key={c.id} flex="1 1 200px">
          <StatCard {...c} />
        </Col>
      ))}
    </Row>
  );
}
