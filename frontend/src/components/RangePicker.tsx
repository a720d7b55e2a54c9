// Today / 24 h / 7 d / 30 d / custom.
import { DatePicker, Segmented, Space } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { PRESETS, type RangeChoice } from './range';

const PRESET_LABEL = {
  TODAY: 'range.today',
  LAST_24_HOURS: 'range.last24h',
  LAST_7_DAYS: 'range.last7d',
  LAST_30_DAYS: 'range.last30d',
} as const;

export function RangePicker({
  value,
  onChange,
}: {
  value: RangeChoice;
  onChange: (value: RangeChoice) => void;
}) {
  const { t } = useTranslation();
  const selected = value.kind === 'preset' ? value.preset : 'CUSTOM';
  const options = [
    ...PRESETS.map((p) => ({ value: p, label: t(PRESET_LABEL[p as keyof typeof PRESET_LABEL]) })),
    { value: 'CUSTOM', label: t('range.custom') },
  ];
  return (
    <Space wrap>
      <Segmented
        data-testid="range-picker"
        options={options}
        value={selected}
        onChange={(v) => {
          if (v === 'CUSTOM') {
            const to = dayjs().startOf('hour').add(1, 'hour');
            onChange({ kind: 'custom', from: to.subtract(3, 'day').toISOString(), to: to.toISOString() });
          } else {
            onChange({ kind: 'preset', preset: v as (typeof PRESETS)[number] });
          }
        }}
      />
      {value.kind === 'custom' && (
        <DatePicker.RangePicker
          showTime={{ format: 'HH:00' }}
          format="YYYY-MM-DD HH:00"
          allowClear={false}
          value={[dayjs(value.from), dayjs(value.to)]}
          onChange={(dates) => {
            const [from, to] = (dates ?? []) as [Dayjs | null, Dayjs | null];
            if (from && to) {
              onChange({ kind: 'custom', from: from.startOf('hour').toISOString(), to: to.startOf('hour').toISOString() });
            }
          }}
        />
      )}
    </Space>
  );
}
