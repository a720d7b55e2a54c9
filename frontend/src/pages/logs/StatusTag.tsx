// An attempt's outcome as a coloured tag.
import { Tag } from 'antd';

const COLORS: Record<string, string> = {
  success: 'success',
  error: 'error',
  timeout: 'orange',
  network_error: 'volcano',
  interrupted: 'warning',
  cancelled: 'default',
};

export const STATUSES = Object.keys(COLORS);

export function StatusTag({ status, code }: { status: string; code?: number | null }) {
  return (
    <Tag color={COLORS[status] ?? 'default'}>
      {status}
      {code ? ` · ${code}` : ''}
    </Tag>
  );
}
