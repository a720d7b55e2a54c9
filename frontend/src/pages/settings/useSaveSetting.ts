// Saves one setting and sorts the API's validation errors into field errors and a card error.
import { useState } from 'react';
import { App } from 'antd';
import { useMutation } from 'urql';
import { useTranslation } from 'react-i18next';
import { apiErrors, asFieldSentence, describeError } from '../../api/errors';
import { SetConfig } from './operations';
import { placeApiError, specOf } from './spec';

export function useSaveSetting(key: string, onSaved: () => void) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [{ fetching }, setConfig] = useMutation(SetConfig);
  const [cardError, setCardError] = useState<string | null>(null);

  /** Saves `value`; returns the field errors to show (empty on success). */
  const save = async (value: unknown): Promise<Record<string, string> | null> => {
    setCardError(null);
    const result = await setConfig({ key, value });
    if (!result.error) {
      message.success(t('settings.saved', { key }));
      onSaved();
      return null;
    }
    const fields: Record<string, string> = {};
    const rest: string[] = [];
    for (const e of apiErrors(result.error)) {
      if (e.code === 'BAD_USER_INPUT') {
        const placed = placeApiError(specOf(key), e.field, e.message);
        if (placed.field) fields[placed.field] = asFieldSentence(placed.message);
        else rest.push(t('settings.invalid', { message: placed.message }));
      } else {
        rest.push(describeError(result.error, t));
      }
    }
    if (rest.length > 0) setCardError([...new Set(rest)].join(' '));
    return fields;
  };

  return { save, saving: fetching, cardError, setCardError };
}
