import { Empty } from 'antd';

export default function DashboardPage() {
  return <Empty />;
}
