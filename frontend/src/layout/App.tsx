// Routes: /login outside the shell, every page inside it (each page lazy-loaded).
import { lazy, Suspense } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { useSessionToken } from '../api/session';
import { PageSpin } from '../components/QueryState';
import { Shell } from './Shell';

const LoginPage = lazy(() => import('../pages/login/LoginPage').then((m) => ({ default: m.LoginPage })));
const DashboardPage = lazy(() => import('../pages/dashboard/DashboardPage'));
const KeysPage = lazy(() => import('../pages/keys/KeysPage'));
const LogsPage = lazy(() => import('../pages/logs/LogsPage'));
const TokensPage = lazy(() => import('../pages/tokens/TokensPage'));
const SettingsPage = lazy(() => import('../pages/settings/SettingsPage'));
const ExplorerPage = lazy(() => import('../pages/explorer/ExplorerPage'));

function RequireSession({ children }: { children: React.ReactNode }) {
  const token = useSessionToken();
  const location = useLocation();
  if (!token) return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  return <>{children}</>;
}

export function App() {
  const page = (element: React.ReactNode) => (
    <Suspense fallback={<PageSpin />}>{element}</Suspense>
  );
  return (
    <Routes>
      <Route path="/login" element={page(<LoginPage />)} />
      <Route
        element={
          <RequireSession>
            <Shell />
          </RequireSession>
        }
      >
        <Route index element={page(<DashboardPage />)} />
        <Route path="keys" element={page(<KeysPage />)} />
        <Route path="logs" element={page(<LogsPage />)} />
        <Route path="tokens" element={page(<TokensPage />)} />
        <Route path="settings" element={page(<SettingsPage />)} />
        <Route path="explorer" element={page(<ExplorerPage />)} />
        <Route path="*" element={<Navigate to="/" replace />} />
      </Route>
    </Routes>
  );
}
