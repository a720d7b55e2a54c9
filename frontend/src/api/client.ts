// The GraphQL client: HTTP with `Authorization: Bearer`, subscriptions over graphql-ws with the
// JWT in `connection_init`, and the session dropped when the server refuses it.
import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange } from 'urql';
import { createClient as createWsClient } from 'graphql-ws';
import { expireSession } from './auth';
import { isUnauthenticated } from './errors';

/** Where the API lives, relative to the page's origin. */
export const GRAPHQL_PATH = '/graphql';
export const GRAPHQL_WS_PATH = '/graphql/ws';

function wsUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}${GRAPHQL_WS_PATH}`;
}

/** A client for one session (`token` null before login: only `login` works then). */
export function createApiClient(token: string | null): Client {
  const authorization = token ? { Authorization: `Bearer ${token}` } : undefined;
  const exchanges = [
    cacheExchange,
    mapExchange({
      onError(error) {
        const status = (error.response as Response | undefined)?.status;
        if (token && (status === 401 || isUnauthenticated(error))) expireSession();
      },
    }),
    fetchExchange,
  ];
  if (token) {
    const ws = createWsClient({
      url: wsUrl(),
      lazy: true,
      connectionParams: () => ({ Authorization: `Bearer ${token}` }),
      retryAttempts: Infinity,
      shouldRetry: () => true,
      on: {
        closed: (event) => {
          const code = (event as CloseEvent | undefined)?.code;
          if (code === 4401 || code === 4403) expireSession();
        },
      },
    });
    exchanges.push(
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    );
  }
  return new Client({
    url: GRAPHQL_PATH,
    exchanges,
    requestPolicy: 'cache-and-network',
    // The server answers GraphQL over POST only (GET /graphql is the GraphiQL page).
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { ...authorization } }),
  });
}
