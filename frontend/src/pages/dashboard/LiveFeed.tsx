// The live feed: every upstream attempt as it starts and finishes (`requestEvents`), newest
// first, with a pause button. Finished attempts tell the page to refresh its numbers.
import { useState } from 'react';
import { Badge, Button, Card, Space, Table, Tag, Typography } from 'antd';
import { PauseCircleOutlined, PlayCircleOutlined } from '@ant-design/icons';
import { useSubscription } from 'urql';
import { useTranslation } from 'react-i18next';
import { Duration, Money } from '../../components/Numbers';
import { formatTime, formatTokens } from '../../components/format';
import { LiveRequests } from './operations';
import { useLatest } from '../../components/useRefresh';
import type { LiveRequestsSubscription } from '../../gql/graphql';

type Event = LiveRequestsSubscription['requestEvents'];
const MAX_ROWS = 50;

/** Folds an event into the feed: a FINISHED event replaces its STARTED row. */
export function foldEvent(rows: Event[], event: Event, max = MAX_ROWS): Event[] {
  const same = (r: Event) => r.requestId === event.requestId && r.attempt === event.attempt;
  const index = rows.findIndex(same);
  if (index >= 0) {
    const next = rows.slice();
    next[index] = event;
    return next;
  }
  return [event, ...rows].slice(0, max);
}

export function statusColor(status: string | null | undefined): string {
  if (!status) return 'processing';
  return status === 'success' ? 'success' : status === 'cancelled' || status === 'interrupted' ? 'warning' : 'error';
}

export function LiveFeed({ onFinished }: { onFinished: () => void }) {
  const { t } = useTranslation();
  const [rows, setRows] = useState<Event[]>([]);
  const [paused, setPaused] = useState(false);
  const [missed, setMissed] = useState(0);
  const pausedRef = useLatest(paused);
  const onFinishedRef = useLatest(onFinished);

  const [{ error }] = useSubscription({ query: LiveRequests }, (_prev, data) => {
    const event = data.requestEvents;
    if (event.phase === 'FINISHED') onFinishedRef.current();
    if (pausedRef.current) setMissed((m) => m + 1);
    else setRows((current) => foldEvent(current, event));
    return data;
  });

  return (
    <Card
      size="small"
      title={
        <Space>
          {t('dashboard.liveFeed')}
          <Badge status={error ? 'error' : paused ? 'default' : 'processing'} text={error ? t('dashboard.liveDisconnected') : paused ? t('dashboard.paused') : t('dashboard.live')} />
          {paused && missed > 0 && <Typography.Text type="secondary">{t('dashboard.missed', { count: missed })}</Typography.Text>}
        </Space>
      }
      extra={
        <Button
          data-testid="live-feed-pause"
          size="small"
          icon={paused ? <PlayCircleOutlined /> : <PauseCircleOutlined />}
          onClick={() => {
            setMissed(0);
            setPaused((p) => !p);
          }}
          aria-pressed={paused}
        >
          {paused ? t('dashboard.resume') : t('dashboard.pause')}
        </Button>
      }
    >
      <Table<Event>
        data-testid="live-feed"
        size="small"
        rowKey={(r) => `${r.requestId}/${r.attempt}`}
        dataSource={rows}
        pagination={false}
        scroll={{ y: 360 }}
        locale={{ emptyText: t('dashboard.liveEmpty') }}
        onRow={(r) => ({ 'data-testid': 'live-feed-row', 'data-request-id': r.requestId }) as React.HTMLAttributes<HTMLElement>}
        columns={[
          { title: t('logs.time'), width: 90, render: (_, r) => formatTime(r.at) },
          {
            title: t('logs.status'),
            width: 130,
            render: (_, r) =>
              r.phase === 'STARTED' ? (
                <Badge status="processing" text={t('dashboard.inFlight')} />
              ) : (
                <Badge status={statusColor(r.status) as 'success'} text={r.httpStatusCode ? `${r.status} · ${r.httpStatusCode}` : r.status} />
              ),
          },
          { title: t('logs.model'), render: (_, r) => r.model },
          { title: t('logs.key'), render: (_, r) => r.keyName ?? '—' },
          { title: t('logs.provider'), width: 100, render: (_, r) => <Tag>{r.provider}</Tag> },
          { title: t('logs.attempt'), width: 70, align: 'right', render: (_, r) => r.attempt },
          {
            title: t('dashboard.tokensInOut'),
            align: 'right',
            render: (_, r) => (
              <span className="num">
                {formatTokens(r.inputTokens)} / {formatTokens(r.outputTokens)}
              </span>
            ),
          },
          { title: t('dashboard.costUsd'), align: 'right', render: (_, r) => (r.phase === 'FINISHED' ? <Money value={r.cost} /> : '—') },
          { title: t('logs.latency'), align: 'right', render: (_, r) => <Duration ms={r.latencyMs} /> },
        ]}
      />
    </Card>
  );
}
