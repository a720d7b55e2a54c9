// The logs page's operations.
import { graphql } from '../../gql';

export const LogFieldsFragment = graphql(`
  fragment LogFields on RequestLog {
    id
    requestId
    attempt
    keyId
    key {
      id
      name
    }
    accessTokenId
    provider
    endpoint
    model
    clientModel
    clientFormat
    upstreamFormat
    isStream
    inputTokens
    outputTokens
    cacheReadTokens
    cacheCreationTokens
    reasoningTokens
    responseId
    totalTokens
    cost
    costNanos
    costUnknown
    latencyMs
    firstByteMs
    status
    httpStatusCode
    errorType
    errorMessage
    createTime
  }
`);

export const RequestLogs = graphql(`
  query RequestLogs($first: Int, $after: String, $filter: RequestLogFilter) {
    requestLogs(first: $first, after: $after, filter: $filter) {
      boundedCount {
        count
        complete
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        ...LogFields
      }
    }
  }
`);

export const LogKeys = graphql(`
  query LogKeys {
    keys {
      id
      name
      provider
    }
  }
`);

export const LogEvents = graphql(`
  subscription LogEvents($filter: RequestEventFilter) {
    requestEvents(filter: $filter) {
      phase
      requestId
      attempt
      logId
    }
  }
`);
