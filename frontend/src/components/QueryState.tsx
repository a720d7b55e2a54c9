// Loading and error states for a query, shared by the pages.
import { Alert, Button, Spin } from 'antd';
import { useTranslation } from 'react-i18next';
import { describeError } from '../api/errors';

export function ErrorAlert({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  return (
    <Alert
      type="error"
      showIcon
      message={describeError(error, t)}
      action={
        onRetry && (
          <Button size="small" onClick={onRetry}>
            {t('common.retry')}
          </Button>
        )
      }
    />
  );
}

export function PageSpin() {
  return (
    <div style={{ padding: 48, textAlign: 'center' }}>
      <Spin />
    </div>
  );
}
