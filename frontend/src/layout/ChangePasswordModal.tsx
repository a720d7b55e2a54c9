// Change password: the current one and a new one; the API's field errors shown at the fields.
import { useState } from 'react';
import { App, Form, Input, Modal } from 'antd';
import { useMutation } from 'urql';
import { useTranslation } from 'react-i18next';
import { graphql } from '../gql';
import { describeError, fieldErrors } from '../api/errors';
import { endSessionAfterPasswordChange } from '../api/auth';

const ChangePassword = graphql(`
  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)
  }
`);

interface Values {
  currentPassword: string;
  newPassword: string;
}

export function ChangePasswordModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const [{ fetching }, change] = useMutation(ChangePassword);
  const [formError, setFormError] = useState<string | null>(null);

  const submit = async (values: Values) => {
    setFormError(null);
    const result = await change({ currentPassword: values.currentPassword, newPassword: values.newPassword });
    if (result.error) {
      const fields = fieldErrors(result.error);
      const known = Object.entries(fields).filter(([f]) => f === 'currentPassword' || f === 'newPassword');
      if (known.length > 0) {
        form.setFields(known.map(([name, error]) => ({ name: name as keyof Values, errors: [error] })));
      } else {
        setFormError(describeError(result.error, t));
      }
      return;
    }
    message.success(t('password.changed'));
    form.resetFields();
    onClose();
    endSessionAfterPasswordChange();
  };

  return (
    <Modal
      open={open}
      title={t('password.title')}
      onCancel={onClose}
      destroyOnHidden
      okText={t('password.submit')}
      okButtonProps={{ loading: fetching, 'data-testid': 'cp-submit' }}
      onOk={() => form.submit()}
    >
      <Form form={form} layout="vertical" onFinish={submit} preserve={false}>
        <Form.Item
          name="currentPassword"
          label={t('password.current')}
          rules={[{ required: true, message: t('validation.required') }]}
        >
          <Input.Password data-testid="cp-current" autoComplete="current-password" />
        </Form.Item>
        <Form.Item
          name="newPassword"
          label={t('password.new')}
          rules={[
            { required: true, message: t('validation.required') },
            { min: 8, message: t('password.tooShort', { min: 8 }) },
          ]}
        >
          <Input.Password data-testid="cp-new" autoComplete="new-password" />
        </Form.Item>
        {formError && <div className="ant-form-item-explain-error">{formError}</div>}
      </Form>
    </Modal>
  );
}
