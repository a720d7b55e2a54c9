import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import en from './en.json';
import zh from './zh.json';
import i18n, { htmlLang } from './index';

type Tree = { [key: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([k, v]) => (typeof v === 'string' ? [prefix + k] : flatten(v, `${prefix}${k}.`)));
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'gql' ? [] : sources(path);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [path] : [];
  });
}

describe('translations', () => {
  it('have the same keys in English and Chinese', () => {
    expect(flatten(zh as Tree).sort()).toEqual(flatten(en as Tree).sort());
  });

  it('cover every key the code names', () => {
    // A plural key (`total_one`, `total_other`) is named by its base in the code.
    const known = new Set(flatten(en as Tree).flatMap((k) => [k, k.replace(/_(one|other)$/, '')]));
    const used = new Set<string>();
    for (const file of sources(join(__dirname, '..'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z0-9_.]+)'/g)) used.add(m[1]);
      for (const m of text.matchAll(/key: '((?:validation|settings)\.[a-zA-Z0-9_.]+)'/g)) used.add(m[1]);
    }
    expect([...used].filter((k) => !known.has(k))).toEqual([]);
    expect(used.size).toBeGreaterThan(100);
  });

  it('say one row, and rows otherwise', async () => {
    await i18n.changeLanguage('en');
    expect(i18n.t('logs.total', { count: 1, n: '1' })).toBe('1 row');
    expect(i18n.t('logs.total', { count: 10000, n: '10,000+' })).toBe('10,000+ rows');
    await i18n.changeLanguage('zh');
    expect(i18n.t('logs.total', { count: 1, n: '1' })).toBe('共 1 条');
    await i18n.changeLanguage('en');
  });

  it('sets <html lang> to follow the language', async () => {
    await i18n.changeLanguage('zh');
    expect(document.documentElement.lang).toBe('zh-CN');
    await i18n.changeLanguage('en');
    expect(document.documentElement.lang).toBe('en');
    expect(htmlLang('zh-TW')).toBe('zh-CN');
  });
});
