import { currentToken, isExpired, saveToken, takeLogoutReason, tokenExpiry, JWT_KEY } from './auth';

function jwt(payload: object): string {
  const b64 = (s: string) => btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${b64('{"alg":"HS256"}')}.${b64(JSON.stringify(payload))}.sig`;
}

describe('the admin session', () => {
  beforeEach(() => {
    localStorage.clear();
    sessionStorage.clear();
  });
  it('reads the expiry from the exp claim', () => {
    expect(tokenExpiry(jwt({ exp: 1_900_000_000 }))).toBe(1_900_000_000);
    expect(tokenExpiry('not-a-jwt')).toBeNull();
  });
  it('keeps a token that has not expired', () => {
    const token = jwt({ exp: Math.floor(Date.now() / 1000) + 3600 });
    saveToken(token);
    expect(currentToken()).toBe(token);
  });
  it('drops an expired token and says why on the login page', () => {
    const token = jwt({ exp: Math.floor(Date.now() / 1000) - 10 });
    expect(isExpired(token)).toBe(true);
    localStorage.setItem(JWT_KEY, token);
    expect(currentToken()).toBeNull();
    expect(localStorage.getItem(JWT_KEY)).toBeNull();
    expect(takeLogoutReason()).toBe('expired');
    expect(takeLogoutReason()).toBeNull();
  });
});
