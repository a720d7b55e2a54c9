import { Empty } from 'antd';

export default function LogsPage() {
  return <Empty />;
}
