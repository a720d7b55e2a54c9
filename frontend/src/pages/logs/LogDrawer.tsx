// Every field of one log row, and the other attempts of the same client request.
import { Descriptions, Drawer, Table, Tag, Typography } from 'antd';
import { useQuery } from 'urql';
import { useTranslation } from 'react-i18next';
import type { LogFieldsFragment } from '../../gql/graphql';
import { ErrorAlert } from '../../components/QueryState';
import { Count, Duration, Money, Tokens } from '../../components/Numbers';
import { formatDateTime } from '../../components/format';
import { RequestLogs } from './operations';
import { StatusTag } from './StatusTag';

export function LogDrawer({ log, onClose, onOpen }: { log: LogFieldsFragment | null; onClose: () => void; onOpen: (log: LogFieldsFragment) => void }) {
  const { t } = useTranslation();
  const [{ data, fetching, error }] = useQuery({
    query: RequestLogs,
    variables: { first: 100, filter: { requestId: log?.requestId ?? '' } },
    pause: !log,
  });
  const attempts = (data?.requestLogs.nodes ?? []).filter((a) => a.id !== log?.id);
  const item = (label: string, value: React.ReactNode) => ({ key: label, label, children: value });

  return (
    <Drawer open={!!log} onClose={onClose} width={720} title={t('logs.detailTitle', { id: log?.id ?? '' })} data-testid="log-drawer" destroyOnHidden>
      {log && (
        <>
          <Descriptions
            column={1}
            size="small"
            bordered
            items={[
              item(t('logs.id'), log.id),
              item(t('logs.requestId'), <Typography.Text copyable className="mono">{log.requestId}</Typography.Text>),
              item(t('logs.attempt'), log.attempt),
              item(t('logs.time'), formatDateTime(log.createTime)),
              item(t('logs.status'), <StatusTag status={log.status} />),
              item(t('logs.httpStatus'), log.httpStatusCode ?? '—'),
              item(t('logs.errorType'), log.errorType ?? '—'),
              item(t('logs.errorMessage'), log.errorMessage ? <Typography.Paragraph style={{ margin: 0, whiteSpace: 'pre-wrap' }}>{log.errorMessage}</Typography.Paragraph> : '—'),
              item(t('logs.key'), log.key ? `${log.key.name} (#${log.key.id})` : log.keyId !== null ? t('dashboard.deletedKey', { id: log.keyId }) : '—'),
              item(t('logs.accessToken'), log.accessTokenId !== null ? `#${log.accessTokenId}` : '—'),
              item(t('logs.provider'), <Tag>{log.provider}</Tag>),
              item(t('logs.endpoint'), log.endpoint),
              item(t('logs.model'), log.model),
              // A routed request: what the client asked for, and the translation it went through.
              ...(log.clientModel
                ? [item(t('logs.routedFrom'), `${log.clientModel} (${log.clientFormat ?? '?'} → ${log.upstreamFormat ?? '?'})`)]
                : []),
              ...(log.responseId
                ? [item(t('logs.responseId'), <Typography.Text copyable className="mono">{log.responseId}</Typography.Text>)]
                : []),
              item(t('logs.stream'), log.isStream ? t('common.yes') : t('common.no')),
              item(t('logs.inputTokens'), <Tokens value={log.inputTokens} />),
              item(t('logs.outputTokens'), <Tokens value={log.outputTokens} />),
              item(t('logs.cacheReadTokens'), <Tokens value={log.cacheReadTokens} />),
              item(t('logs.cacheCreationTokens'), <Tokens value={log.cacheCreationTokens} />),
              item(t('logs.reasoningTokens'), <Tokens value={log.reasoningTokens} />),
              item(t('logs.totalTokens'), <Tokens value={log.totalTokens} />),
              item(
                t('logs.cost'),
                <>
                  <Money value={log.cost} /> <Typography.Text type="secondary">
                    (<Count value={log.costNanos} /> {t('logs.nanoUsdUnit')})
                  </Typography.Text>
                  {log.costUnknown && <Tag color="warning" style={{ marginLeft: 8 }}>{t('logs.costUnknown')}</Tag>}
                </>,
              ),
              item(t('logs.latency'), <Duration ms={log.latencyMs} />),
              item(t('logs.firstByte'), <Duration ms={log.firstByteMs} />),
            ]}
          />
          <Typography.Title level={5} style={{ marginTop: 24 }}>
            {t('logs.otherAttempts')}
          </Typography.Title>
          {error ? (
            <ErrorAlert error={error} />
          ) : (
            <Table<LogFieldsFragment>
              data-testid="log-attempts"
              size="small"
              rowKey="id"
              loading={fetching}
              dataSource={attempts}
              pagination={false}
              locale={{ emptyText: t('logs.noOtherAttempts') }}
              onRow={(r) => ({ onClick: () => onOpen(r), style: { cursor: 'pointer' } })}
              columns={[
                { title: t('logs.attempt'), dataIndex: 'attempt', width: 80 },
                { title: t('logs.time'), render: (_, r) => formatDateTime(r.createTime) },
                { title: t('logs.key'), render: (_, r) => r.key?.name ?? '—' },
                { title: t('logs.status'), render: (_, r) => <StatusTag status={r.status} code={r.httpStatusCode} /> },
                { title: t('logs.errorType'), render: (_, r) => r.errorType ?? '—' },
                { title: t('logs.latency'), align: 'right', render: (_, r) => <Duration ms={r.latencyMs} /> },
              ]}
            />
          )}
        </>
      )}
    </Drawer>
  );
}
