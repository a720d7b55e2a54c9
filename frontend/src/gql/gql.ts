/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)\n  }\n": typeof types.ChangePasswordDocument,
    "\n  query DashboardStats($range: StatsRange!) {\n    statsOverview(range: $range) {\n      requests\n      successes\n      errors\n      successRate\n      inputTokens\n      outputTokens\n      cacheReadTokens\n      cacheCreationTokens\n      totalTokens\n      cost\n      avgLatencyMs\n    }\n    keys {\n      id\n      enabled\n      available\n    }\n  }\n": typeof types.DashboardStatsDocument,
    "\n  query DashboardTimeline($range: StatsRange!, $granularity: Granularity!) {\n    statsTimeline(range: $range, granularity: $granularity) {\n      start\n      stats {\n        requests\n        errors\n        totalTokens\n        cost\n      }\n    }\n  }\n": typeof types.DashboardTimelineDocument,
    "\n  query DashboardBreakdown($range: StatsRange!) {\n    statsByModel(range: $range, sortBy: COST) {\n      name\n      stats {\n        requests\n        totalTokens\n        cost\n      }\n    }\n    statsByProvider(range: $range, sortBy: COST) {\n      name\n      stats {\n        requests\n        totalTokens\n        cost\n      }\n    }\n    statsByKey(range: $range) {\n      keyId\n      key {\n        id\n        name\n        provider\n      }\n      stats {\n        requests\n        successes\n        errors\n        successRate\n        totalTokens\n        cost\n        avgLatencyMs\n      }\n    }\n  }\n": typeof types.DashboardBreakdownDocument,
    "\n  subscription LiveRequests {\n    requestEvents {\n      phase\n      requestId\n      attempt\n      logId\n      keyId\n      keyName\n      provider\n      endpoint\n      model\n      isStream\n      status\n      httpStatusCode\n      errorType\n      inputTokens\n      outputTokens\n      cacheReadTokens\n      cacheCreationTokens\n      cost\n      latencyMs\n      firstByteMs\n      at\n    }\n  }\n": typeof types.LiveRequestsDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      expiresAt\n      username\n    }\n  }\n": typeof types.LoginDocument,
};
const documents: Documents = {
    "\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)\n  }\n": types.ChangePasswordDocument,
    "\n  query DashboardStats($range: StatsRange!) {\n    statsOverview(range: $range) {\n      requests\n      successes\n      errors\n      successRate\n      inputTokens\n      outputTokens\n      cacheReadTokens\n      cacheCreationTokens\n      totalTokens\n      cost\n      avgLatencyMs\n    }\n    keys {\n      id\n      enabled\n      available\n    }\n  }\n": types.DashboardStatsDocument,
    "\n  query DashboardTimeline($range: StatsRange!, $granularity: Granularity!) {\n    statsTimeline(range: $range, granularity: $granularity) {\n      start\n      stats {\n        requests\n        errors\n        totalTokens\n        cost\n      }\n    }\n  }\n": types.DashboardTimelineDocument,
    "\n  query DashboardBreakdown($range: StatsRange!) {\n    statsByModel(range: $range, sortBy: COST) {\n      name\n      stats {\n        requests\n        totalTokens\n        cost\n      }\n    }\n    statsByProvider(range: $range, sortBy: COST) {\n      name\n      stats {\n        requests\n        totalTokens\n        cost\n      }\n    }\n    statsByKey(range: $range) {\n      keyId\n      key {\n        id\n        name\n        provider\n      }\n      stats {\n        requests\n        successes\n        errors\n        successRate\n        totalTokens\n        cost\n        avgLatencyMs\n      }\n    }\n  }\n": types.DashboardBreakdownDocument,
    "\n  subscription LiveRequests {\n    requestEvents {\n      phase\n      requestId\n      attempt\n      logId\n      keyId\n      keyName\n      provider\n      endpoint\n      model\n      isStream\n      status\n      httpStatusCode\n      errorType\n      inputTokens\n      outputTokens\n      cacheReadTokens\n      cacheCreationTokens\n      cost\n      latencyMs\n      firstByteMs\n      at\n    }\n  }\n": types.LiveRequestsDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      expiresAt\n      username\n    }\n  }\n": types.LoginDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)\n  }\n"): (typeof documents)["\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query DashboardStats($range: StatsRange!) {\n    statsOverview(range: $range) {\n      requests\n      successes\n      errors\n      successRate\n      inputTokens\n      outputTokens\n      cacheReadTokens\n      cacheCreationTokens\n      totalTokens\n      cost\n      avgLatencyMs\n    }\n    keys {\n      id\n      enabled\n      available\n    }\n  }\n"): (typeof documents)["\n  query DashboardStats($range: StatsRange!) {\n    statsOverview(range: $range) {\n      requests\n      successes\n      errors\n      successRate\n      inputTokens\n      outputTokens\n      cacheReadTokens\n      cacheCreationTokens\n      totalTokens\n      cost\n      avgLatencyMs\n    }\n    keys {\n      id\n      enabled\n      available\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query DashboardTimeline($range: StatsRange!, $granularity: Granularity!) {\n    statsTimeline(range: $range, granularity: $granularity) {\n      start\n      stats {\n        requests\n        errors\n        totalTokens\n        cost\n      }\n    }\n  }\n"): (typeof documents)["\n  query DashboardTimeline($range: StatsRange!, $granularity: Granularity!) {\n    statsTimeline(range: $range, granularity: $granularity) {\n      start\n      stats {\n        requests\n        errors\n        totalTokens\n        cost\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query DashboardBreakdown($range: StatsRange!) {\n    statsByModel(range: $range, sortBy: COST) {\n      name\n      stats {\n        requests\n        totalTokens\n        cost\n      }\n    }\n    statsByProvider(range: $range, sortBy: COST) {\n      name\n      stats {\n        requests\n        totalTokens\n        cost\n      }\n    }\n    statsByKey(range: $range) {\n      keyId\n      key {\n        id\n        name\n        provider\n      }\n      stats {\n        requests\n        successes\n        errors\n        successRate\n        totalTokens\n        cost\n        avgLatencyMs\n      }\n    }\n  }\n"): (typeof documents)["\n  query DashboardBreakdown($range: StatsRange!) {\n    statsByModel(range: $range, sortBy: COST) {\n      name\n      stats {\n        requests\n        totalTokens\n        cost\n      }\n    }\n    statsByProvider(range: $range, sortBy: COST) {\n      name\n      stats {\n        requests\n        totalTokens\n        cost\n      }\n    }\n    statsByKey(range: $range) {\n      keyId\n      key {\n        id\n        name\n        provider\n      }\n      stats {\n        requests\n        successes\n        errors\n        successRate\n        totalTokens\n        cost\n        avgLatencyMs\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription LiveRequests {\n    requestEvents {\n      phase\n      requestId\n      attempt\n      logId\n      keyId\n      keyName\n      provider\n      endpoint\n      model\n      isStream\n      status\n      httpStatusCode\n      errorType\n      inputTokens\n      outputTokens\n      cacheReadTokens\n      cacheCreationTokens\n      cost\n      latencyMs\n      firstByteMs\n      at\n    }\n  }\n"): (typeof documents)["\n  subscription LiveRequests {\n    requestEvents {\n      phase\n      requestId\n      attempt\n      logId\n      keyId\n      keyName\n      provider\n      endpoint\n      model\n      isStream\n      status\n      httpStatusCode\n      errorType\n      inputTokens\n      outputTokens\n      cacheReadTokens\n      cacheCreationTokens\n      cost\n      latencyMs\n      firstByteMs\n      at\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      expiresAt\n      username\n    }\n  }\n"): (typeof documents)["\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      expiresAt\n      username\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;