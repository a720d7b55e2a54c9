import { checkApiKey, checkBaseUrl, checkName, checkProxy, checkRange, checkUserAgent } from './validation';

describe('key form checks (as the API makes them)', () => {
  it('requires a name of at most 128 characters', () => {
    expect(checkName('  ')?.key).toBe('validation.required');
    expect(checkName('x'.repeat(129))?.key).toBe('validation.maxChars');
    expect(checkName('team openai')).toBeNull();
  });
  it('wants a secret of 8 or more visible characters, and only when creating', () => {
    expect(checkApiKey('', true)?.key).toBe('validation.required');
    expect(checkApiKey('', false)).toBeNull();
    expect(checkApiKey('sk-1', true)?.key).toBe('validation.minChars');
    expect(checkApiKey('sk-abc def-123', true)?.key).toBe('validation.asciiNoSpaces');
    expect(checkApiKey('sk-abcdef123456', true)).toBeNull();
  });
  it('accepts the four proxy schemes with a host and port', () => {
    expect(checkProxy('')).toBeNull();
    expect(checkProxy('http://10.0.0.1:3128')).toBeNull();
    expect(checkProxy('socks5h://user:pass@10.0.0.1:1080')).toBeNull();
    expect(checkProxy('ftp://10.0.0.1:21')?.key).toBe('validation.proxyScheme');
    expect(checkProxy('10.0.0.1:3128')?.key).toBe('validation.proxyScheme');
    expect(checkProxy('socks5://10.0.0.1')?.key).toBe('validation.proxyPort');
    expect(checkProxy('http://10.0.0.1:3128/path')?.key).toBe('validation.proxyPath');
  });
  it('wants an http(s) base URL', () => {
    expect(checkBaseUrl('https://api.example.com/v1')).toBeNull();
    expect(checkBaseUrl('api.example.com')?.key).toBe('validation.httpUrl');
  });
  it('rejects a User-Agent that cannot be an HTTP header', () => {
    expect(checkUserAgent('MyApp/1.0')).toBeNull();
    expect(checkUserAgent('MyApp/1.0 ✓')?.key).toBe('validation.ascii');
  });
  it('keeps priority and weight in their ranges', () => {
    expect(checkRange(0, -1000, 1000)).toBeNull();
    expect(checkRange(1001, -1000, 1000)?.key).toBe('validation.between');
    expect(checkRange(0, 1, 1000)?.key).toBe('validation.between');
  });
});
