// The checks the API makes on a key (service/validate.rs), made in the form before sending, so
// most mistakes show at the field at once. Each returns an i18n key and its values, or null.

import type { Problem } from '../../components/formRules';

const PRINTABLE_NO_SPACE = /^[\x21-\x7e]*$/;
const PRINTABLE = /^[\x20-\x7e]*$/;

export function checkName(value: string | undefined): Problem | null {
  const v = (value ?? '').trim();
  if (!v) return { key: 'validation.required' };
  if ([...v].length > 128) return { key: 'validation.maxChars', values: { max: 128 } };
  return null;
}

/** An upstream secret: 8–512 visible ASCII characters. Optional when editing. */
export function checkApiKey(value: string | undefined, required: boolean): Problem | null {
  const v = (value ?? '').trim();
  if (!v) return required ? { key: 'validation.required' } : null;
  if (v.length < 8) return { key: 'validation.minChars', values: { min: 8 } };
  if (v.length > 512) return { key: 'validation.maxChars', values: { max: 512 } };
  if (!PRINTABLE_NO_SPACE.test(v)) return { key: 'validation.asciiNoSpaces' };
  return null;
}

export function checkUserAgent(value: string | undefined): Problem | null {
  const v = (value ?? '').trim();
  if (v.length > 512) return { key: 'validation.maxChars', values: { max: 512 } };
  if (!PRINTABLE.test(v)) return { key: 'validation.ascii' };
  return null;
}

/** `http`, `https`, `socks5` or `socks5h` with a host and port, no path; empty is direct. */
export function checkProxy(value: string | undefined): Problem | null {
  const v = (value ?? '').trim();
  if (!v) return null;
  if (v.length > 512) return { key: 'validation.maxChars', values: { max: 512 } };
  const scheme = /^([a-z0-9+.-]+):\/\//i.exec(v)?.[1]?.toLowerCase();
  if (!scheme || !['http', 'https', 'socks5', 'socks5h'].includes(scheme)) return { key: 'validation.proxyScheme' };
  let url: URL;
  try {
    // URL only knows ports of special schemes; parse the rest as http to read host and port.
    url = new URL(v.replace(/^[a-z0-9+.-]+:/i, 'http:'));
  } catch {
    return { key: 'validation.proxyUrl' };
  }
  if (!url.hostname) return { key: 'validation.proxyHost' };
  const explicitPort = /^[a-z0-9+.-]+:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/]*):(\d+)/i.test(v);
  if (!explicitPort && scheme.startsWith('socks')) return { key: 'validation.proxyPort' };
  if ((url.pathname !== '/' && url.pathname !== '') || url.search) return { key: 'validation.proxyPath' };
  return null;
}

/** An `http(s)://` base URL; empty means the provider's default. */
export function checkBaseUrl(value: string | undefined): Problem | null {
  const v = (value ?? '').trim();
  if (!v) return null;
  if (v.length > 512) return { key: 'validation.maxChars', values: { max: 512 } };
  try {
    const url = new URL(v);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { key: 'validation.httpUrl' };
    if (!url.hostname) return { key: 'validation.httpUrl' };
  } catch {
    return { key: 'validation.httpUrl' };
  }
  return null;
}

export function checkMemo(value: string | undefined): Problem | null {
  return [...(value ?? '').trim()].length > 2000 ? { key: 'validation.maxChars', values: { max: 2000 } } : null;
}

export function checkRange(value: number | null | undefined, min: number, max: number): Problem | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < min || value > max) return { key: 'validation.between', values: { min, max } };
  return null;
}
