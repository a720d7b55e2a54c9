// The GraphQL explorer: the bundled GraphiQL (loaded only when this page opens) with the
// admin's JWT filled in.
import { lazy, Suspense } from 'react';
import { Card, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { PageSpin } from '../../components/QueryState';

const Explorer = lazy(() => import('../../graphiql/Explorer').then((m) => ({ default: m.Explorer })));

export default function ExplorerPage() {
  const { t } = useTranslation();
  return (
    <Card size="small" styles={{ body: { padding: 0 } }} title={<Typography.Text type="secondary">{t('explorer.intro')}</Typography.Text>}>
      <div data-testid="explorer" style={{ height: 'calc(100vh - 200px)', minHeight: 480 }}>
        <Suspense fallback={<PageSpin />}>
          <Explorer />
        </Suspense>
      </div>
    </Card>
  );
}
