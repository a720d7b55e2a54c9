import { Empty } from 'antd';

export default function SettingsPage() {
  return <Empty />;
}
