// Light or dark (antd's theme algorithm), remembered in localStorage.
import { createContext, useContext, useState, type ReactNode } from 'react';
import { ConfigProvider, theme } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { useTranslation } from 'react-i18next';
import 'dayjs/locale/zh-cn';
import dayjs from 'dayjs';

const THEME_KEY = 'amp-pool.theme';

const ThemeContext = createContext<{ dark: boolean; toggle: () => void }>({
  dark: false,
  toggle: () => undefined,
});

export function useThemeMode() {
  return useContext(ThemeContext);
}

/** antd's ConfigProvider with the chosen theme and the language's locale. */
export function ThemeProvider({ children }: { children: ReactNode }) {
  const [dark, setDark] = useState(() => localStorage.getItem(THEME_KEY) === 'dark');
  const { i18n } = useTranslation();
  const zh = (i18n.resolvedLanguage ?? i18n.language ?? 'en').startsWith('zh');
  dayjs.locale(zh ? 'zh-cn' : 'en');
  const toggle = () =>
    setDark((d) => {
      localStorage.setItem(THEME_KEY, d ? 'light' : 'dark');
      return !d;
    });
  return (
    <ThemeContext.Provider value={{ dark, toggle }}>
      <ConfigProvider
        locale={zh ? zhCN : enUS}
        theme={{ algorithm: dark ? theme.darkAlgorithm : theme.defaultAlgorithm }}
      >
        {children}
      </ConfigProvider>
    </ThemeContext.Provider>
  );
}
