// The shell around every page: side menu, header with language, theme, password and logout.
import { lazy, Suspense, useState } from 'react';
import { Link, Outlet, useLocation } from 'react-router-dom';
import { Button, Layout, Menu, Space, Tooltip, Typography, theme } from 'antd';
import {
  ApiOutlined,
  DashboardOutlined,
  KeyOutlined,
  LockOutlined,
  LogoutOutlined,
  MoonOutlined,
  SafetyCertificateOutlined,
  SettingOutlined,
  SunOutlined,
  UnorderedListOutlined,
} from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { logout } from '../api/auth';
import { useThemeMode } from '../components/ThemeMode';
import { ErrorBoundary } from '../components/ErrorBoundary';

// Loaded when first opened: it carries its own GraphQL operation.
const ChangePasswordModal = lazy(() => import('./ChangePasswordModal').then((m) => ({ default: m.ChangePasswordModal })));

const NAV = [
  { path: '/', key: 'dashboard', icon: <DashboardOutlined /> },
  { path: '/keys', key: 'keys', icon: <KeyOutlined /> },
  { path: '/logs', key: 'logs', icon: <UnorderedListOutlined /> },
  { path: '/tokens', key: 'tokens', icon: <SafetyCertificateOutlined /> },
  { path: '/settings', key: 'settings', icon: <SettingOutlined /> },
  { path: '/explorer', key: 'explorer', icon: <ApiOutlined /> },
] as const;

function selectedKey(pathname: string): string {
  const match = NAV.find((n) => n.path !== '/' && pathname.startsWith(n.path));
  return match ? match.key : 'dashboard';
}

export function Shell() {
  const { t, i18n } = useTranslation();
  const location = useLocation();
  const { dark, toggle } = useThemeMode();
  const { token } = theme.useToken();
  const [collapsed, setCollapsed] = useState(false);
  const [changingPassword, setChangingPassword] = useState(false);
  const zh = (i18n.resolvedLanguage ?? i18n.language).startsWith('zh');

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider collapsible collapsed={collapsed} onCollapse={setCollapsed} theme="light">
        <div style={{ padding: '16px 20px', fontWeight: 600, fontSize: 16, whiteSpace: 'nowrap' }}>
          {collapsed ? 'AP' : t('app.title')}
        </div>
        <Menu
          mode="inline"
          selectedKeys={[selectedKey(location.pathname)]}
          items={NAV.map((n) => ({
            key: n.key,
            icon: n.icon,
            label: (
              <Link to={n.path} data-testid={`nav-${n.key}`}>
                {t(`nav.${n.key}`)}
              </Link>
            ),
          }))}
        />
      </Layout.Sider>
      <Layout>
        <Layout.Header
          style={{
            background: token.colorBgContainer,
            padding: '0 24px',
            display: 'flex',
            alignItems: 'center',
            justifyContent: 'space-between',
          }}
        >
          <Typography.Title level={4} style={{ margin: 0 }}>
            {t(`nav.${selectedKey(location.pathname)}`)}
          </Typography.Title>
          <Space>
            <Button data-testid="lang-switch" onClick={() => void i18n.changeLanguage(zh ? 'en' : 'zh')}>
              {zh ? 'English' : '中文'}
            </Button>
            <Tooltip title={dark ? t('shell.lightMode') : t('shell.darkMode')}>
              <Button
                aria-label={dark ? t('shell.lightMode') : t('shell.darkMode')}
                icon={dark ? <SunOutlined /> : <MoonOutlined />}
                onClick={toggle}
              />
            </Tooltip>
            <Button data-testid="change-password" icon={<LockOutlined />} onClick={() => setChangingPassword(true)}>
              {t('shell.changePassword')}
            </Button>
            <Button data-testid="logout" icon={<LogoutOutlined />} onClick={logout}>
              {t('shell.logout')}
            </Button>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: 24 }}>
          <ErrorBoundary key={location.pathname}>
            <Outlet />
          </ErrorBoundary>
        </Layout.Content>
      </Layout>
      {changingPassword && (
        <Suspense fallback={null}>
          <ChangePasswordModal open={changingPassword} onClose={() => setChangingPassword(false)} />
        </Suspense>
      )}
    </Layout>
  );
}
