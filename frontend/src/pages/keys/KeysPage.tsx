import { Empty } from 'antd';

export default function KeysPage() {
  return <Empty />;
}
