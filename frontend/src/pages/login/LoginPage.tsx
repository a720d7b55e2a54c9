// Login: username and password for a JWT; says why when the last session ended by itself.
import { useEffect, useState } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router-dom';
import { Alert, Button, Card, Form, Input, Space, Typography } from 'antd';
import { LockOutlined, UserOutlined } from '@ant-design/icons';
import { useMutation } from 'urql';
import { useTranslation } from 'react-i18next';
import { graphql } from '../../gql';
import { clearLogoutReason, logoutReason, saveToken } from '../../api/auth';
import { apiErrors, describeError } from '../../api/errors';
import { useSessionToken } from '../../api/session';

const Login = graphql(`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      token
      expiresAt
      username
    }
  }
`);

export function LoginPage() {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const location = useLocation();
  const token = useSessionToken();
  const [{ fetching }, login] = useMutation(Login);
  const [error, setError] = useState<string | null>(null);
  const [reason] = useState(() => logoutReason());
  useEffect(() => {
    if (reason) clearLogoutReason();
  }, [reason]);
  const zh = (i18n.resolvedLanguage ?? i18n.language).startsWith('zh');

  if (token) return <Navigate to="/" replace />;

  const submit = async (values: { username: string; password: string }) => {
    setError(null);
    const result = await login(values);
    if (result.error || !result.data) {
      const wrong = apiErrors(result.error).some((e) => e.code === 'UNAUTHENTICATED');
      setError(wrong ? t('login.wrong') : describeError(result.error, t));
      return;
    }
    saveToken(result.data.login.token);
    const from = (location.state as { from?: string } | null)?.from;
    navigate(from && from !== '/login' ? from : '/', { replace: true });
  };

  return (
    <div style={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center' }}>
      <Card style={{ width: 380 }}>
        <Space direction="vertical" size="large" style={{ width: '100%' }}>
          <div style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center' }}>
            <Typography.Title level={3} style={{ margin: 0 }}>
              {t('app.title')}
            </Typography.Title>
            <Button data-testid="lang-switch" size="small" onClick={() => void i18n.changeLanguage(zh ? 'en' : 'zh')}>
              {zh ? 'English' : '中文'}
            </Button>
          </div>
          {reason === 'expired' && <Alert type="warning" showIcon message={t('login.expired')} data-testid="login-expired" />}
          {reason === 'password-changed' && <Alert type="success" showIcon message={t('login.passwordChanged')} data-testid="login-password-changed" />}
          <Form layout="vertical" onFinish={submit} requiredMark={false}>
            <Form.Item
              name="username"
              label={t('login.username')}
              rules={[{ required: true, message: t('validation.required') }]}
            >
              <Input data-testid="login-username" prefix={<UserOutlined />} autoComplete="username" autoFocus />
            </Form.Item>
            <Form.Item
              name="password"
              label={t('login.password')}
              rules={[{ required: true, message: t('validation.required') }]}
            >
              <Input.Password data-testid="login-password" prefix={<LockOutlined />} autoComplete="current-password" />
            </Form.Item>
            {error && (
              <Alert type="error" showIcon style={{ marginBottom: 16 }} message={<span data-testid="login-error">{error}</span>} />
            )}
            <Button data-testid="login-submit" type="primary" htmlType="submit" block loading={fetching}>
              {t('login.submit')}
            </Button>
          </Form>
        </Space>
      </Card>
    </div>
  );
}
