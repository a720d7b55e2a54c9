// Providers only: i18n, antd theme, the session's GraphQL client, the router.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router-dom';
import { App as AntApp } from 'antd';
import './i18n';
import './styles.css';
import { SessionProvider } from './api/session';
import { ThemeProvider } from './components/ThemeMode';
import { App } from './layout/App';

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <ThemeProvider>
        <AntApp>
          <SessionProvider>
            <BrowserRouter>
              <App />
            </BrowserRouter>
          </SessionProvider>
        </AntApp>
      </ThemeProvider>
    </StrictMode>,
  );
}
