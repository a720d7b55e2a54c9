// A key's balance against its total, with a stale marker carrying the refresh error.
import { Progress, Space, Tooltip, Typography } from 'antd';
import { WarningOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import type { KeyFieldsFragment } from '../../gql/graphql';
import { formatDateTime, formatMoney } from '../../components/format';

export function BalanceCell({ apiKey }: { apiKey: KeyFieldsFragment }) {
  const { t } = useTranslation();
  const { balance, totalBalance, balanceStale, balanceError } = apiKey;
  const detail = apiKey.balanceDetail.map((l) => l.text).join('\n');
  const percent =
    balance !== null && totalBalance !== null && totalBalance > 0
      ? Math.max(0, Math.min(100, (balance / totalBalance) * 100))
      : null;
  const stale = balanceStale && (
    <Tooltip title={t('keys.balanceStale', { error: balanceError ?? '' })}>
      <Typography.Text type="warning" data-testid="key-balance-stale">
        <WarningOutlined /> {t('keys.stale')}
      </Typography.Text>
    </Tooltip>
  );
  return (
    <Space direction="vertical" size={0} style={{ minWidth: 150 }}>
      <Tooltip title={detail || undefined}>
        <span className="num" data-testid="key-balance">
          {balance === null ? t('keys.balanceUnknown') : formatMoney(balance)}
          {totalBalance !== null && ` / ${formatMoney(totalBalance)}`}
        </span>
      </Tooltip>
      {percent !== null && (
        <Progress
          percent={percent}
          size="small"
          showInfo={false}
          status={percent < 10 ? 'exception' : 'normal'}
          strokeColor={balanceStale ? '#faad14' : undefined}
        />
      )}
      {stale}
      {apiKey.balanceLastUpdate && (
        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
          {t('keys.balanceUpdated', { at: formatDateTime(apiKey.balanceLastUpdate) })}
        </Typography.Text>
      )}
    </Space>
  );
}
