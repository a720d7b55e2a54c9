// A setting the console has no editor for: its JSON, edited as text.
import { useState } from 'react';
import { Alert, Button, Card, Input, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { formatDateTime } from '../../components/format';
import { useSaveSetting } from './useSaveSetting';
import type { Entry } from './FieldsCard';

export function JsonCard({ entry, onSaved }: { entry: Entry; onSaved: () => void }) {
  const { t } = useTranslation();
  const { save, saving, cardError } = useSaveSetting(entry.key, onSaved);
  // Keyed by the entry's update time in the page, so a saved value re-mounts the card.
  const [text, setText] = useState(() => JSON.stringify(entry.value, null, 2));
  const [parseError, setParseError] = useState<string | null>(null);

  const submit = async () => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      setParseError(t('settings.jsonInvalid'));
      return;
    }
    setParseError(null);
    await save(value);
  };

  return (
    <Card
      data-testid={`setting-${entry.key}`}
      size="small"
      title={<span className="mono">{entry.key}</span>}
      extra={<Typography.Text type="secondary">{t('settings.updated', { at: formatDateTime(entry.updateTime) })}</Typography.Text>}
    >
      <Input.TextArea
        data-testid={`setting-${entry.key}-json`}
        className="mono"
        autoSize={{ minRows: 2, maxRows: 16 }}
        value={text}
        status={parseError ? 'error' : undefined}
        onChange={(e) => setText(e.target.value)}
      />
      {parseError && <div className="ant-form-item-explain-error">{parseError}</div>}
      {cardError && <Alert type="error" showIcon style={{ marginTop: 12 }} message={<span data-testid={`setting-${entry.key}-error`}>{cardError}</span>} />}
      <Button style={{ marginTop: 12 }} data-testid={`setting-${entry.key}-save`} type="primary" loading={saving} onClick={() => void submit()}>
        {t('common.save')}
      </Button>
    </Card>
  );
}
