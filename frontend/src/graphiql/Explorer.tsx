// GraphiQL from npm (no CDN), talking to /graphql with the admin's JWT when there is one.
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import 'graphiql/style.css';
import { JWT_KEY } from '../api/auth';

const DEFAULT_QUERY = `# AMP Pool's management API. Press the run button (or Ctrl-Enter).
{
  me { username }
  statsOverview(range: { preset: TODAY }) { requests successRate totalTokens cost }
  keys { id name provider apiKeyMasked available disabledReason }
}
`;

function wsUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}/graphql/ws`;
}

/** The bundled GraphiQL; `standalone` is the page at /graphql (a header editor for the JWT). */
export function Explorer({ standalone = false }: { standalone?: boolean }) {
  const token = localStorage.getItem(JWT_KEY);
  const headers = token ? JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2) : undefined;
  const fetcher = createGraphiQLFetcher({
    url: '/graphql',
    subscriptionUrl: wsUrl(),
    wsConnectionParams: token ? { Authorization: `Bearer ${token}` } : undefined,
  });
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultHeaders={headers ?? (standalone ? '{\n  "Authorization": "Bearer <jwt>"\n}' : undefined)}
      shouldPersistHeaders={false}
      defaultQuery={DEFAULT_QUERY}
      isHeadersEditorEnabled
    />
  );
}
