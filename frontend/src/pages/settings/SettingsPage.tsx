// Settings: a typed editor for each known run-time setting, and a JSON editor for the others.
import { Col, Row, Skeleton } from 'antd';
import { useQuery } from 'urql';
import { ErrorAlert } from '../../components/QueryState';
import { Configs } from './operations';
import { SETTINGS } from './spec';
import { FieldsCard, type Entry } from './FieldsCard';
import { PricesCard } from './PricesCard';
import { JsonCard } from './JsonCard';

export default function SettingsPage() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: Configs });
  const reload = () => refetch({ requestPolicy: 'network-only' });
  if (error && !data) return <ErrorAlert error={error} onRetry={reload} />;
  if (fetching && !data) return <Skeleton active />;
  const entries = new Map<string, Entry>((data?.configs ?? []).map((c) => [c.key, c]));
  // A card starts again from the stored value whenever that value changes.
  const version = (key: string) => entries.get(key)?.updateTime ?? 'default';
  const unknown = (data?.configs ?? []).filter((c) => !SETTINGS.some((s) => s.key === c.key));
  return (
    <Row gutter={[16, 16]}>
      {SETTINGS.map((spec) => (
        <Col key={spec.key} xs={24} xl={spec.layout === 'prices' ? 24 : 12}>
          {spec.layout === 'prices' ? (
            <PricesCard key={version(spec.key)} spec={spec} entry={entries.get(spec.key)} onSaved={reload} />
          ) : (
            <FieldsCard key={version(spec.key)} spec={spec} entry={entries.get(spec.key)} onSaved={reload} />
          )}
        </Col>
      ))}
      {unknown.map((entry) => (
        <Col key={entry.key} xs={24} xl={12}>
          <JsonCard key={version(entry.key)} entry={entry} onSaved={reload} />
        </Col>
      ))}
    </Row>
  );
}
