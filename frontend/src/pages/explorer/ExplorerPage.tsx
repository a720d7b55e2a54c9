import { Empty } from 'antd';

export default function ExplorerPage() {
  return <Empty />;
}
