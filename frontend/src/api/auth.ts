// The admin session: the JWT in localStorage (`amp-pool.jwt`), its expiry from the `exp` claim,
// and a reason shown on the login page after the session ended by itself.

export const JWT_KEY = 'amp-pool.jwt';
const REASON_KEY = 'amp-pool.logout-reason';

/** Why the user is back on the login page without having logged out. */
export type LogoutReason = 'expired' | 'password-changed';

type Listener = (token: string | null) => void;
const listeners = new Set<Listener>();

/** Seconds since the epoch at which `token` expires, or null when it carries no `exp`. */
export function tokenExpiry(token: string): number | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp : null;
  } catch {
    return null;
  }
}

/** Whether `token` is past its `exp` (a token without one is taken as expired). */
export function isExpired(token: string, nowMs = Date.now()): boolean {
  const exp = tokenExpiry(token);
  return exp === null || exp * 1000 <= nowMs;
}

/** The stored JWT when it is still valid; an expired one is dropped (with the reason). */
export function currentToken(): string | null {
  const token = localStorage.getItem(JWT_KEY);
  if (!token) return null;
  if (isExpired(token)) {
    expireSession();
    return null;
  }
  return token;
}

/** Stores the JWT of a fresh login. */
export function saveToken(token: string): void {
  localStorage.setItem(JWT_KEY, token);
  sessionStorage.removeItem(REASON_KEY);
  notify(token);
}

/** Logs out on request. */
export function logout(): void {
  localStorage.removeItem(JWT_KEY);
  notify(null);
}

/** Drops the JWT because the server refused it or it ran out; the login page says so. */
export function expireSession(): void {
  const had = localStorage.getItem(JWT_KEY) !== null;
  localStorage.removeItem(JWT_KEY);
  if (had) sessionStorage.setItem(REASON_KEY, 'expired');
  notify(null);
}

/**
 * Ends the session after a password change: the server ends every session of the admin then,
 * this one included, so the login page asks for the new password instead of reporting an expiry.
 */
export function endSessionAfterPasswordChange(): void {
  localStorage.removeItem(JWT_KEY);
  sessionStorage.setItem(REASON_KEY, 'password-changed');
  notify(null);
}

/** Why the last session ended by itself, if it did (read without forgetting: renders may repeat). */
export function logoutReason(): LogoutReason | null {
  const reason = sessionStorage.getItem(REASON_KEY);
  return reason === 'expired' || reason === 'password-changed' ? reason : null;
}

/** Forgets the reason once the login page has shown it. */
export function clearLogoutReason(): void {
  sessionStorage.removeItem(REASON_KEY);
}

/** Reads and forgets why the last session ended. */
export function takeLogoutReason(): LogoutReason | null {
  const reason = logoutReason();
  clearLogoutReason();
  return reason;
}

/** Calls `listener` whenever the session starts or ends; returns the unsubscribe function. */
export function onTokenChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(token: string | null): void {
  for (const listener of listeners) listener(token);
}
