// Requests, tokens and cost per hour or day (`statsTimeline`), each on its own axis.
import { lazy, Suspense } from 'react';
import { Card, Empty, Skeleton, theme } from 'antd';
import dayjs from 'dayjs';
import { useQuery } from 'urql';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/QueryState';
import { ErrorBoundary } from '../../components/ErrorBoundary';
import { formatCount, formatMoney } from '../../components/format';
import { timelineGranularity, toStatsRange, type RangeChoice } from '../../components/range';
import { useRefetchOn } from '../../components/useRefresh';
import { DashboardTimeline } from './operations';

const Chart = lazy(() => import('./Chart'));

export function TimelineChart({ range, refreshKey }: { range: RangeChoice; refreshKey: number }) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const granularity = timelineGranularity(range);
  const [{ data, fetching, error }, refetch] = useQuery({
    query: DashboardTimeline,
    variables: { range: toStatsRange(range), granularity },
  });
  useRefetchOn(refreshKey, refetch);
  const points = data?.statsTimeline ?? [];
  const format = granularity === 'HOUR' ? 'MM-DD HH:00' : 'YYYY-MM-DD';
  const text = { color: token.colorTextSecondary };
  const option = {
    backgroundColor: 'transparent',
    textStyle: text,
    tooltip: { trigger: 'axis' },
    legend: { top: 0, textStyle: text },
    grid: { left: 60, right: 140, top: 60, bottom: 30 },
    xAxis: { type: 'category', data: points.map((p) => dayjs(p.start).format(format)), axisLabel: text },
    yAxis: [
      {
        type: 'value',
        name: t('dashboard.requests'),
        axisLabel: { ...text, formatter: (v: number) => formatCount(v) },
        splitLine: { lineStyle: { color: token.colorBorderSecondary } },
      },
      { type: 'value', name: t('dashboard.tokens'), position: 'right', axisLabel: { ...text, formatter: (v: number) => formatCount(v) }, splitLine: { show: false } },
      { type: 'value', name: t('dashboard.costUsd'), position: 'right', offset: 70, axisLabel: { ...text, formatter: (v: number) => formatMoney(v) }, splitLine: { show: false } },
    ],
    series: [
      { name: t('dashboard.requests'), type: 'bar', yAxisIndex: 0, data: points.map((p) => p.stats.requests), tooltip: { valueFormatter: (v: number) => formatCount(v) } },
      { name: t('dashboard.tokens'), type: 'line', yAxisIndex: 1, smooth: true, data: points.map((p) => p.stats.totalTokens), tooltip: { valueFormatter: (v: number) => formatCount(v) } },
      { name: t('dashboard.cost'), type: 'line', yAxisIndex: 2, smooth: true, data: points.map((p) => p.stats.cost), tooltip: { valueFormatter: (v: number) => formatMoney(v) } },
    ],
  };
  return (
    <Card title={t('dashboard.timeline')} data-testid="timeline-chart" size="small">
      {error ? (
        <ErrorAlert error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      ) : fetching && !data ? (
        <Skeleton active />
      ) : points.every((p) => p.stats.requests === 0) ? (
        <Empty description={t('dashboard.noRequests')} />
      ) : (
        <ErrorBoundary>
          <Suspense fallback={<Skeleton active />}>
            <Chart option={option} />
          </Suspense>
        </ErrorBoundary>
      )}
    </Card>
  );
}
