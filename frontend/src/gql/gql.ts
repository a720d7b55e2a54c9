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
    "\n  fragment KeyFields on ApiKey {\n    id\n    name\n    provider\n    apiKeyMasked\n    ua\n    proxyIp\n    baseUrl\n    enabled\n    priority\n    weight\n    balance\n    totalBalance\n    balanceLastUpdate\n    balanceError\n    balanceStale\n    balanceDetail {\n      label\n      remaining\n      total\n      percent\n      text\n    }\n    spend\n    memo\n    disabledReason\n    disabledAt\n    disabledBy\n    cooldownUntil\n    available\n    createTime\n    updateTime\n  }\n": typeof types.KeyFieldsFragmentDoc,
    "\n  query Keys($filter: KeyFilter) {\n    keys(filter: $filter) {\n      ...KeyFields\n    }\n  }\n": typeof types.KeysDocument,
    "\n  mutation CreateKey($input: CreateKeyInput!) {\n    createKey(input: $input) {\n      ...KeyFields\n    }\n  }\n": typeof types.CreateKeyDocument,
    "\n  mutation UpdateKey($id: Int!, $input: UpdateKeyInput!) {\n    updateKey(id: $id, input: $input) {\n      ...KeyFields\n    }\n  }\n": typeof types.UpdateKeyDocument,
    "\n  mutation DeleteKey($id: Int!) {\n    deleteKey(id: $id)\n  }\n": typeof types.DeleteKeyDocument,
    "\n  mutation SetKeyEnabled($id: Int!, $enabled: Boolean!) {\n    setKeyEnabled(id: $id, enabled: $enabled) {\n      ...KeyFields\n    }\n  }\n": typeof types.SetKeyEnabledDocument,
    "\n  mutation RefreshBalance($id: Int!) {\n    refreshBalance(id: $id) {\n      ...KeyFields\n    }\n  }\n": typeof types.RefreshBalanceDocument,
    "\n  mutation ImportKeys($input: ImportKeysInput!) {\n    importKeys(input: $input) {\n      created\n      duplicates {\n        line\n        keyMasked\n        reason\n      }\n      invalid {\n        line\n        keyMasked\n        reason\n      }\n    }\n  }\n": typeof types.ImportKeysDocument,
    "\n  subscription KeyEvents {\n    keyEvents {\n      kind\n      keyId\n      keyName\n      reason\n      automatic\n      until\n      balance\n      at\n    }\n  }\n": typeof types.KeyEventsDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      expiresAt\n      username\n    }\n  }\n": typeof types.LoginDocument,
    "\n  fragment LogFields on RequestLog {\n    id\n    requestId\n    attempt\n    keyId\n    key {\n      id\n      name\n    }\n    accessTokenId\n    provider\n    endpoint\n    model\n    clientModel\n    clientFormat\n    upstreamFormat\n    isStream\n    inputTokens\n    outputTokens\n    cacheReadTokens\n    cacheCreationTokens\n    reasoningTokens\n    responseId\n    totalTokens\n    cost\n    costNanos\n    costUnknown\n    latencyMs\n    firstByteMs\n    status\n    httpStatusCode\n    errorType\n    errorMessage\n    createTime\n  }\n": typeof types.LogFieldsFragmentDoc,
    "\n  query RequestLogs($first: Int, $after: String, $filter: RequestLogFilter) {\n    requestLogs(first: $first, after: $after, filter: $filter) {\n      boundedCount {\n        count\n        complete\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        ...LogFields\n      }\n    }\n  }\n": typeof types.RequestLogsDocument,
    "\n  query LogKeys {\n    keys {\n      id\n      name\n      provider\n    }\n  }\n": typeof types.LogKeysDocument,
    "\n  subscription LogEvents($filter: RequestEventFilter) {\n    requestEvents(filter: $filter) {\n      phase\n      requestId\n      attempt\n      logId\n    }\n  }\n": typeof types.LogEventsDocument,
    "\n  query Configs {\n    configs {\n      key\n      value\n      memo\n      isSet\n      description\n      updateTime\n    }\n  }\n": typeof types.ConfigsDocument,
    "\n  mutation SetConfig($key: String!, $value: JSON!) {\n    setConfig(key: $key, value: $value) {\n      key\n      value\n      memo\n      isSet\n      description\n      updateTime\n    }\n  }\n": typeof types.SetConfigDocument,
    "\n  query ThresholdKeys {\n    keys {\n      id\n      name\n    }\n  }\n": typeof types.ThresholdKeysDocument,
    "\n  fragment TokenFields on AccessToken {\n    id\n    name\n    tokenPrefix\n    enabled\n    expiresAt\n    expired\n    models\n    budget\n    spend\n    rpmLimit\n    lastUsedAt\n    memo\n    createTime\n  }\n": typeof types.TokenFieldsFragmentDoc,
    "\n  query AccessTokens {\n    accessTokens {\n      ...TokenFields\n    }\n  }\n": typeof types.AccessTokensDocument,
    "\n  mutation CreateAccessToken($input: CreateAccessTokenInput!) {\n    createAccessToken(input: $input) {\n      token\n      accessToken {\n        ...TokenFields\n      }\n    }\n  }\n": typeof types.CreateAccessTokenDocument,
    "\n  mutation RevokeAccessToken($id: Int!) {\n    revokeAccessToken(id: $id) {\n      ...TokenFields\n    }\n  }\n": typeof types.RevokeAccessTokenDocument,
};
const documents: Documents = {
    "\n  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {\n    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)\n  }\n": types.ChangePasswordDocument,
    "\n  query DashboardStats($range: StatsRange!) {\n    statsOverview(range: $range) {\n      requests\n      successes\n      errors\n      successRate\n      inputTokens\n      outputTokens\n      cacheReadTokens\n      cacheCreationTokens\n      totalTokens\n      cost\n      avgLatencyMs\n    }\n    keys {\n      id\n      enabled\n      available\n    }\n  }\n": types.DashboardStatsDocument,
    "\n  query DashboardTimeline($range: StatsRange!, $granularity: Granularity!) {\n    statsTimeline(range: $range, granularity: $granularity) {\n      start\n      stats {\n        requests\n        errors\n        totalTokens\n        cost\n      }\n    }\n  }\n": types.DashboardTimelineDocument,
    "\n  query DashboardBreakdown($range: StatsRange!) {\n    statsByModel(range: $range, sortBy: COST) {\n      name\n      stats {\n        requests\n        totalTokens\n        cost\n      }\n    }\n    statsByProvider(range: $range, sortBy: COST) {\n      name\n      stats {\n        requests\n        totalTokens\n        cost\n      }\n    }\n    statsByKey(range: $range) {\n      keyId\n      key {\n        id\n        name\n        provider\n      }\n      stats {\n        requests\n        successes\n        errors\n        successRate\n        totalTokens\n        cost\n        avgLatencyMs\n      }\n    }\n  }\n": types.DashboardBreakdownDocument,
    "\n  subscription LiveRequests {\n    requestEvents {\n      phase\n      requestId\n      attempt\n      logId\n      keyId\n      keyName\n      provider\n      endpoint\n      model\n      isStream\n      status\n      httpStatusCode\n      errorType\n      inputTokens\n      outputTokens\n      cacheReadTokens\n      cacheCreationTokens\n      cost\n      latencyMs\n      firstByteMs\n      at\n    }\n  }\n": types.LiveRequestsDocument,
    "\n  fragment KeyFields on ApiKey {\n    id\n    name\n    provider\n    apiKeyMasked\n    ua\n    proxyIp\n    baseUrl\n    enabled\n    priority\n    weight\n    balance\n    totalBalance\n    balanceLastUpdate\n    balanceError\n    balanceStale\n    balanceDetail {\n      label\n      remaining\n      total\n      percent\n      text\n    }\n    spend\n    memo\n    disabledReason\n    disabledAt\n    disabledBy\n    cooldownUntil\n    available\n    createTime\n    updateTime\n  }\n": types.KeyFieldsFragmentDoc,
    "\n  query Keys($filter: KeyFilter) {\n    keys(filter: $filter) {\n      ...KeyFields\n    }\n  }\n": types.KeysDocument,
    "\n  mutation CreateKey($input: CreateKeyInput!) {\n    createKey(input: $input) {\n      ...KeyFields\n    }\n  }\n": types.CreateKeyDocument,
    "\n  mutation UpdateKey($id: Int!, $input: UpdateKeyInput!) {\n    updateKey(id: $id, input: $input) {\n      ...KeyFields\n    }\n  }\n": types.UpdateKeyDocument,
    "\n  mutation DeleteKey($id: Int!) {\n    deleteKey(id: $id)\n  }\n": types.DeleteKeyDocument,
    "\n  mutation SetKeyEnabled($id: Int!, $enabled: Boolean!) {\n    setKeyEnabled(id: $id, enabled: $enabled) {\n      ...KeyFields\n    }\n  }\n": types.SetKeyEnabledDocument,
    "\n  mutation RefreshBalance($id: Int!) {\n    refreshBalance(id: $id) {\n      ...KeyFields\n    }\n  }\n": types.RefreshBalanceDocument,
    "\n  mutation ImportKeys($input: ImportKeysInput!) {\n    importKeys(input: $input) {\n      created\n      duplicates {\n        line\n        keyMasked\n        reason\n      }\n      invalid {\n        line\n        keyMasked\n        reason\n      }\n    }\n  }\n": types.ImportKeysDocument,
    "\n  subscription KeyEvents {\n    keyEvents {\n      kind\n      keyId\n      keyName\n      reason\n      automatic\n      until\n      balance\n      at\n    }\n  }\n": types.KeyEventsDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      expiresAt\n      username\n    }\n  }\n": types.LoginDocument,
    "\n  fragment LogFields on RequestLog {\n    id\n    requestId\n    attempt\n    keyId\n    key {\n      id\n      name\n    }\n    accessTokenId\n    provider\n    endpoint\n    model\n    clientModel\n    clientFormat\n    upstreamFormat\n    isStream\n    inputTokens\n    outputTokens\n    cacheReadTokens\n    cacheCreationTokens\n    reasoningTokens\n    responseId\n    totalTokens\n    cost\n    costNanos\n    costUnknown\n    latencyMs\n    firstByteMs\n    status\n    httpStatusCode\n    errorType\n    errorMessage\n    createTime\n  }\n": types.LogFieldsFragmentDoc,
    "\n  query RequestLogs($first: Int, $after: String, $filter: RequestLogFilter) {\n    requestLogs(first: $first, after: $after, filter: $filter) {\n      boundedCount {\n        count\n        complete\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        ...LogFields\n      }\n    }\n  }\n": types.RequestLogsDocument,
    "\n  query LogKeys {\n    keys {\n      id\n      name\n      provider\n    }\n  }\n": types.LogKeysDocument,
    "\n  subscription LogEvents($filter: RequestEventFilter) {\n    requestEvents(filter: $filter) {\n      phase\n      requestId\n      attempt\n      logId\n    }\n  }\n": types.LogEventsDocument,
    "\n  query Configs {\n    configs {\n      key\n      value\n      memo\n      isSet\n      description\n      updateTime\n    }\n  }\n": types.ConfigsDocument,
    "\n  mutation SetConfig($key: String!, $value: JSON!) {\n    setConfig(key: $key, value: $value) {\n      key\n      value\n      memo\n      isSet\n      description\n      updateTime\n    }\n  }\n": types.SetConfigDocument,
    "\n  query ThresholdKeys {\n    keys {\n      id\n      name\n    }\n  }\n": types.ThresholdKeysDocument,
    "\n  fragment TokenFields on AccessToken {\n    id\n    name\n    tokenPrefix\n    enabled\n    expiresAt\n    expired\n    models\n    budget\n    spend\n    rpmLimit\n    lastUsedAt\n    memo\n    createTime\n  }\n": types.TokenFieldsFragmentDoc,
    "\n  query AccessTokens {\n    accessTokens {\n      ...TokenFields\n    }\n  }\n": types.AccessTokensDocument,
    "\n  mutation CreateAccessToken($input: CreateAccessTokenInput!) {\n    createAccessToken(input: $input) {\n      token\n      accessToken {\n        ...TokenFields\n      }\n    }\n  }\n": types.CreateAccessTokenDocument,
    "\n  mutation RevokeAccessToken($id: Int!) {\n    revokeAccessToken(id: $id) {\n      ...TokenFields\n    }\n  }\n": types.RevokeAccessTokenDocument,
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
export function graphql(source: "\n  fragment KeyFields on ApiKey {\n    id\n    name\n    provider\n    apiKeyMasked\n    ua\n    proxyIp\n    baseUrl\n    enabled\n    priority\n    weight\n    balance\n    totalBalance\n    balanceLastUpdate\n    balanceError\n    balanceStale\n    balanceDetail {\n      label\n      remaining\n      total\n      percent\n      text\n    }\n    spend\n    memo\n    disabledReason\n    disabledAt\n    disabledBy\n    cooldownUntil\n    available\n    createTime\n    updateTime\n  }\n"): (typeof documents)["\n  fragment KeyFields on ApiKey {\n    id\n    name\n    provider\n    apiKeyMasked\n    ua\n    proxyIp\n    baseUrl\n    enabled\n    priority\n    weight\n    balance\n    totalBalance\n    balanceLastUpdate\n    balanceError\n    balanceStale\n    balanceDetail {\n      label\n      remaining\n      total\n      percent\n      text\n    }\n    spend\n    memo\n    disabledReason\n    disabledAt\n    disabledBy\n    cooldownUntil\n    available\n    createTime\n    updateTime\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Keys($filter: KeyFilter) {\n    keys(filter: $filter) {\n      ...KeyFields\n    }\n  }\n"): (typeof documents)["\n  query Keys($filter: KeyFilter) {\n    keys(filter: $filter) {\n      ...KeyFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateKey($input: CreateKeyInput!) {\n    createKey(input: $input) {\n      ...KeyFields\n    }\n  }\n"): (typeof documents)["\n  mutation CreateKey($input: CreateKeyInput!) {\n    createKey(input: $input) {\n      ...KeyFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateKey($id: Int!, $input: UpdateKeyInput!) {\n    updateKey(id: $id, input: $input) {\n      ...KeyFields\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateKey($id: Int!, $input: UpdateKeyInput!) {\n    updateKey(id: $id, input: $input) {\n      ...KeyFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteKey($id: Int!) {\n    deleteKey(id: $id)\n  }\n"): (typeof documents)["\n  mutation DeleteKey($id: Int!) {\n    deleteKey(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetKeyEnabled($id: Int!, $enabled: Boolean!) {\n    setKeyEnabled(id: $id, enabled: $enabled) {\n      ...KeyFields\n    }\n  }\n"): (typeof documents)["\n  mutation SetKeyEnabled($id: Int!, $enabled: Boolean!) {\n    setKeyEnabled(id: $id, enabled: $enabled) {\n      ...KeyFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RefreshBalance($id: Int!) {\n    refreshBalance(id: $id) {\n      ...KeyFields\n    }\n  }\n"): (typeof documents)["\n  mutation RefreshBalance($id: Int!) {\n    refreshBalance(id: $id) {\n      ...KeyFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ImportKeys($input: ImportKeysInput!) {\n    importKeys(input: $input) {\n      created\n      duplicates {\n        line\n        keyMasked\n        reason\n      }\n      invalid {\n        line\n        keyMasked\n        reason\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ImportKeys($input: ImportKeysInput!) {\n    importKeys(input: $input) {\n      created\n      duplicates {\n        line\n        keyMasked\n        reason\n      }\n      invalid {\n        line\n        keyMasked\n        reason\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription KeyEvents {\n    keyEvents {\n      kind\n      keyId\n      keyName\n      reason\n      automatic\n      until\n      balance\n      at\n    }\n  }\n"): (typeof documents)["\n  subscription KeyEvents {\n    keyEvents {\n      kind\n      keyId\n      keyName\n      reason\n      automatic\n      until\n      balance\n      at\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      expiresAt\n      username\n    }\n  }\n"): (typeof documents)["\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      expiresAt\n      username\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment LogFields on RequestLog {\n    id\n    requestId\n    attempt\n    keyId\n    key {\n      id\n      name\n    }\n    accessTokenId\n    provider\n    endpoint\n    model\n    clientModel\n    clientFormat\n    upstreamFormat\n    isStream\n    inputTokens\n    outputTokens\n    cacheReadTokens\n    cacheCreationTokens\n    reasoningTokens\n    responseId\n    totalTokens\n    cost\n    costNanos\n    costUnknown\n    latencyMs\n    firstByteMs\n    status\n    httpStatusCode\n    errorType\n    errorMessage\n    createTime\n  }\n"): (typeof documents)["\n  fragment LogFields on RequestLog {\n    id\n    requestId\n    attempt\n    keyId\n    key {\n      id\n      name\n    }\n    accessTokenId\n    provider\n    endpoint\n    model\n    clientModel\n    clientFormat\n    upstreamFormat\n    isStream\n    inputTokens\n    outputTokens\n    cacheReadTokens\n    cacheCreationTokens\n    reasoningTokens\n    responseId\n    totalTokens\n    cost\n    costNanos\n    costUnknown\n    latencyMs\n    firstByteMs\n    status\n    httpStatusCode\n    errorType\n    errorMessage\n    createTime\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RequestLogs($first: Int, $after: String, $filter: RequestLogFilter) {\n    requestLogs(first: $first, after: $after, filter: $filter) {\n      boundedCount {\n        count\n        complete\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        ...LogFields\n      }\n    }\n  }\n"): (typeof documents)["\n  query RequestLogs($first: Int, $after: String, $filter: RequestLogFilter) {\n    requestLogs(first: $first, after: $after, filter: $filter) {\n      boundedCount {\n        count\n        complete\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      nodes {\n        ...LogFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query LogKeys {\n    keys {\n      id\n      name\n      provider\n    }\n  }\n"): (typeof documents)["\n  query LogKeys {\n    keys {\n      id\n      name\n      provider\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription LogEvents($filter: RequestEventFilter) {\n    requestEvents(filter: $filter) {\n      phase\n      requestId\n      attempt\n      logId\n    }\n  }\n"): (typeof documents)["\n  subscription LogEvents($filter: RequestEventFilter) {\n    requestEvents(filter: $filter) {\n      phase\n      requestId\n      attempt\n      logId\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Configs {\n    configs {\n      key\n      value\n      memo\n      isSet\n      description\n      updateTime\n    }\n  }\n"): (typeof documents)["\n  query Configs {\n    configs {\n      key\n      value\n      memo\n      isSet\n      description\n      updateTime\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetConfig($key: String!, $value: JSON!) {\n    setConfig(key: $key, value: $value) {\n      key\n      value\n      memo\n      isSet\n      description\n      updateTime\n    }\n  }\n"): (typeof documents)["\n  mutation SetConfig($key: String!, $value: JSON!) {\n    setConfig(key: $key, value: $value) {\n      key\n      value\n      memo\n      isSet\n      description\n      updateTime\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ThresholdKeys {\n    keys {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  query ThresholdKeys {\n    keys {\n      id\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment TokenFields on AccessToken {\n    id\n    name\n    tokenPrefix\n    enabled\n    expiresAt\n    expired\n    models\n    budget\n    spend\n    rpmLimit\n    lastUsedAt\n    memo\n    createTime\n  }\n"): (typeof documents)["\n  fragment TokenFields on AccessToken {\n    id\n    name\n    tokenPrefix\n    enabled\n    expiresAt\n    expired\n    models\n    budget\n    spend\n    rpmLimit\n    lastUsedAt\n    memo\n    createTime\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AccessTokens {\n    accessTokens {\n      ...TokenFields\n    }\n  }\n"): (typeof documents)["\n  query AccessTokens {\n    accessTokens {\n      ...TokenFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateAccessToken($input: CreateAccessTokenInput!) {\n    createAccessToken(input: $input) {\n      token\n      accessToken {\n        ...TokenFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateAccessToken($input: CreateAccessTokenInput!) {\n    createAccessToken(input: $input) {\n      token\n      accessToken {\n        ...TokenFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeAccessToken($id: Int!) {\n    revokeAccessToken(id: $id) {\n      ...TokenFields\n    }\n  }\n"): (typeof documents)["\n  mutation RevokeAccessToken($id: Int!) {\n    revokeAccessToken(id: $id) {\n      ...TokenFields\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;