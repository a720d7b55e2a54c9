// Client tokens: list with prefix, model allowlist, limits, spend and status; create; revoke.
import { useState } from 'react';
import { App, Button, Popconfirm, Progress, Space, Table, Tag, Typography } from 'antd';
import { PlusOutlined, ReloadOutlined, StopOutlined } from '@ant-design/icons';
import { useMutation, useQuery } from 'urql';
import { useTranslation } from 'react-i18next';
import type { TokenFieldsFragment } from '../../gql/graphql';
import { describeError } from '../../api/errors';
import { ErrorAlert } from '../../components/QueryState';
import { Money } from '../../components/Numbers';
import { formatCount, formatDateTime, formatMoney } from '../../components/format';
import { AccessTokens, RevokeAccessToken } from './operations';
import { TokenForm } from './TokenForm';
import { tokenStatus } from './tokenStatus';

const STATUS_COLOR = { active: 'success', revoked: 'default', expired: 'warning' } as const;

export default function TokensPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [{ data, fetching, error }, refetch] = useQuery({ query: AccessTokens });
  const [, revoke] = useMutation(RevokeAccessToken);
  const [formOpen, setFormOpen] = useState(false);
  const reload = () => refetch({ requestPolicy: 'network-only' });

  const doRevoke = async (token: TokenFieldsFragment) => {
    const result = await revoke({ id: token.id });
    if (result.error) message.error(describeError(result.error, t));
    else message.success(t('tokens.revoked', { name: token.name }));
    reload();
  };

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }}>
        <Typography.Text type="secondary">{t('tokens.intro')}</Typography.Text>
        <Space>
          <Button icon={<ReloadOutlined />} onClick={reload} aria-label={t('common.reload')} />
          <Button data-testid="token-add" type="primary" icon={<PlusOutlined />} onClick={() => setFormOpen(true)}>
            {t('tokens.add')}
          </Button>
        </Space>
      </Space>
      {error && <ErrorAlert error={error} onRetry={reload} />}
      <Table<TokenFieldsFragment>
        data-testid="tokens-table"
        rowKey="id"
        loading={fetching && !data}
        dataSource={data?.accessTokens ?? []}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        scroll={{ x: 1400 }}
        locale={{ emptyText: error ? t('common.loadFailed') : t('tokens.empty') }}
        columns={[
          {
            title: t('tokens.name'),
            width: 220,
            render: (_, r) => (
              <Space direction="vertical" size={0}>
                <Typography.Text strong>{r.name}</Typography.Text>
                <Typography.Text type="secondary" className="mono" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>
                  {r.tokenPrefix}
                </Typography.Text>
              </Space>
            ),
          },
          {
            title: t('tokens.status'),
            width: 110,
            render: (_, r) => {
              const status = tokenStatus(r);
              return (
                <Tag color={STATUS_COLOR[status]} data-testid="token-status">
                  {t(`tokens.state.${status}`)}
                </Tag>
              );
            },
          },
          {
            title: t('tokens.models'),
            width: 200,
            render: (_, r) =>
              r.models === null ? (
                <Typography.Text type="secondary">{t('tokens.allModels')}</Typography.Text>
              ) : (
                <Space size={[0, 4]} wrap>
                  {r.models.map((m) => (
                    <Tag key={m}>{m}</Tag>
                  ))}
                </Space>
              ),
          },
          {
            title: t('tokens.rpm'),
            width: 120,
            align: 'right',
            render: (_, r) => (r.rpmLimit === null ? t('tokens.unlimited') : t('tokens.rpmValue', { n: formatCount(r.rpmLimit) })),
          },
          {
            title: t('tokens.spendBudget'),
            width: 200,
            render: (_, r) =>
              r.budget === null ? (
                <span>
                  <Money value={r.spend} /> / {t('tokens.unlimited')}
                </span>
              ) : (
                <Space direction="vertical" size={0} style={{ width: '100%' }}>
                  <span className="num">
                    {formatMoney(r.spend)} / {formatMoney(r.budget)}
                  </span>
                  <Progress
                    size="small"
                    showInfo={false}
                    percent={r.budget > 0 ? Math.min(100, (r.spend / r.budget) * 100) : 100}
                    status={r.spend >= r.budget ? 'exception' : 'normal'}
                  />
                </Space>
              ),
          },
          {
            title: t('tokens.expiresAt'),
            width: 170,
            render: (_, r) => (r.expiresAt ? formatDateTime(r.expiresAt) : <Typography.Text type="secondary">{t('tokens.never')}</Typography.Text>),
          },
          { title: t('tokens.lastUsed'), width: 170, render: (_, r) => formatDateTime(r.lastUsedAt) },
          { title: t('keys.memo'), dataIndex: 'memo', width: 160, ellipsis: true },
          {
            title: t('common.actions'),
            width: 110,
            fixed: 'right',
            render: (_, r) =>
              r.enabled && (
                <Popconfirm
                  title={t('tokens.revokeConfirm', { name: r.name })}
                  description={t('tokens.revokeHelp')}
                  okText={t('tokens.revoke')}
                  cancelText={t('common.cancel')}
                  okButtonProps={{ danger: true }}
                  onConfirm={() => doRevoke(r)}
                >
                  <Button data-testid="token-revoke" size="small" danger icon={<StopOutlined />}>
                    {t('tokens.revoke')}
                  </Button>
                </Popconfirm>
              ),
          },
        ]}
      />
      <TokenForm open={formOpen} onClose={() => setFormOpen(false)} onCreated={reload} />
    </Space>
  );
}
