// The key health badge shown in the keys table.
import { Badge, Tooltip } from 'antd';
import { useTranslation } from 'react-i18next';
import { formatDateTime } from './format';
import { keyHealth, keyHealthText, type KeyHealthFields } from './keyHealth';

const STATUS = {
  active: 'success',
  cooling: 'warning',
  disabledByAdmin: 'default',
  autoDisabled: 'error',
} as const;

export function HealthBadge({ apiKey }: { apiKey: KeyHealthFields }) {
  const { t } = useTranslation();
  const health = keyHealth(apiKey);
  const text = keyHealthText(health, t, formatDateTime);
  return (
    <Tooltip title={health.state === 'autoDisabled' ? text : undefined}>
      <span>
        <Badge status={STATUS[health.state]} text={<span data-testid="key-health">{text}</span>} />
      </span>
    </Tooltip>
  );
}
