// i18next: English and Chinese, the browser's language by default, the choice kept in
// localStorage; `<html lang>` follows the language.
import i18n from 'i18next';
import LanguageDetector from 'i18next-browser-languagedetector';
import { initReactI18next } from 'react-i18next';
import en from './en.json';
import zh from './zh.json';

export type Lang = 'en' | 'zh';

/** The `lang` attribute for a language. */
export function htmlLang(lang: string): string {
  return lang.startsWith('zh') ? 'zh-CN' : 'en';
}

/** The console's language, reduced to the two it has. */
export function currentLang(): Lang {
  return (i18n.resolvedLanguage ?? i18n.language ?? 'en').startsWith('zh') ? 'zh' : 'en';
}

i18n.on('languageChanged', (lng) => {
  document.documentElement.lang = htmlLang(lng);
});

void i18n
  .use(LanguageDetector)
  .use(initReactI18next)
  .init({
    resources: { en: { translation: en }, zh: { translation: zh } },
    supportedLngs: ['en', 'zh'],
    nonExplicitSupportedLngs: true,
    load: 'languageOnly',
    fallbackLng: 'en',
    interpolation: { escapeValue: false },
    detection: {
      order: ['localStorage', 'navigator'],
      lookupLocalStorage: 'amp-pool.lang',
      caches: ['localStorage'],
    },
  });

document.documentElement.lang = htmlLang(i18n.language ?? 'en');

export default i18n;
