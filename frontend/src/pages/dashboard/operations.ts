// The dashboard's queries and its live feed subscription.
import { graphql } from '../../gql';

export const DashboardStats = graphql(`
  query DashboardStats($range: StatsRange!) {
    statsOverview(range: $range) {
      requests
      successes
      errors
      successRate
      inputTokens
      outputTokens
      cacheReadTokens
      cacheCreationTokens
      totalTokens
      cost
      avgLatencyMs
    }
    keys {
      id
      enabled
      available
    }
  }
`);

export const DashboardTimeline = graphql(`
  query DashboardTimeline($range: StatsRange!, $granularity: Granularity!) {
    statsTimeline(range: $range, granularity: $granularity) {
      start
      stats {
        requests
        errors
        totalTokens
        cost
      }
    }
  }
`);

export const DashboardBreakdown = graphql(`
  query DashboardBreakdown($range: StatsRange!) {
    statsByModel(range: $range, sortBy: COST) {
      name
      stats {
        requests
        totalTokens
        cost
      }
    }
    statsByProvider(range: $range, sortBy: COST) {
      name
      stats {
        requests
        totalTokens
        cost
      }
    }
    statsByKey(range: $range) {
      keyId
      key {
        id
        name
        provider
      }
      stats {
        requests
        successes
        errors
        successRate
        totalTokens
        cost
        avgLatencyMs
      }
    }
  }
`);

export const LiveRequests = graphql(`
  subscription LiveRequests {
    requestEvents {
      phase
      requestId
      attempt
      logId
      keyId
      keyName
      provider
      endpoint
      model
      isStream
      status
      httpStatusCode
      errorType
      inputTokens
      outputTokens
      cacheReadTokens
      cacheCreationTokens
      cost
      latencyMs
      firstByteMs
      at
    }
  }
`);
