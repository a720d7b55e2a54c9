// The session as React state: the current JWT, and a GraphQL client built for it (a new client
// per session, so the WebSocket reconnects with the new token and no cached data leaks across).
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { Provider } from 'urql';
import { createApiClient } from './client';
import { currentToken, expireSession, onTokenChange, tokenExpiry } from './auth';

const SessionContext = createContext<string | null>(null);

/** The JWT of the logged-in admin, or null. */
export function useSessionToken(): string | null {
  return useContext(SessionContext);
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState<string | null>(() => currentToken());
  useEffect(() => onTokenChange(setToken), []);

  // Drop the session the moment its `exp` passes, not at the next failing request.
  useEffect(() => {
    if (!token) return;
    const exp = tokenExpiry(token);
    if (exp === null) return;
    const ms = Math.min(exp * 1000 - Date.now(), 2_147_000_000);
    const timer = window.setTimeout(expireSession, Math.max(ms, 0));
    return () => window.clearTimeout(timer);
  }, [token]);

  const client = useMemo(() => createApiClient(token), [token]);
  return (
    <SessionContext.Provider value={token}>
      <Provider value={client}>{children}</Provider>
    </SessionContext.Provider>
  );
}
