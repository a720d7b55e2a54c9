// Dashboard: totals, timeline, breakdowns and the live feed over a chosen range. Finished
// requests (from the live feed) refresh the numbers, debounced.
import { useState } from 'react';
import { Col, Row, Space } from 'antd';
import { RangePicker } from '../../components/RangePicker';
import type { RangeChoice } from '../../components/range';
import { StatCards } from './StatCards';
import { TimelineChart } from './TimelineChart';
import { Breakdown } from './Breakdown';
import { LiveFeed } from './LiveFeed';
import { useCoalesced } from '../../components/useRefresh';

const REFRESH_DEBOUNCE_MS = 1500;

export default function DashboardPage() {
  const [range, setRange] = useState<RangeChoice>({ kind: 'preset', preset: 'TODAY' });
  const [refreshKey, setRefreshKey] = useState(0);
  const onFinished = useCoalesced(() => setRefreshKey((k) => k + 1), REFRESH_DEBOUNCE_MS);

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <RangePicker value={range} onChange={setRange} />
      <StatCards range={range} refreshKey={refreshKey} />
      <Row gutter={[16, 16]}>
        <Col xs={24} xxl={14}>
          <TimelineChart range={range} refreshKey={refreshKey} />
        </Col>
        <Col xs={24} xxl={10}>
          <LiveFeed onFinished={onFinished} />
        </Col>
      </Row>
      <Breakdown range={range} refreshKey={refreshKey} />
    </Space>
  );
}
