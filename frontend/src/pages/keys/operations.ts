// The keys page's operations.
import { graphql } from '../../gql';

export const KeyFieldsFragment = graphql(`
  fragment KeyFields on ApiKey {
    id
    name
    provider
    apiKeyMasked
    ua
    proxyIp
    baseUrl
    enabled
    priority
    weight
    balance
    totalBalance
    balanceLastUpdate
    balanceError
    balanceStale
    balanceDetail {
      label
      remaining
      total
      percent
      text
    }
    spend
    memo
    disabledReason
    disabledAt
    disabledBy
    cooldownUntil
    available
    createTime
    updateTime
  }
`);

export const KeysQuery = graphql(`
  query Keys($filter: KeyFilter) {
    keys(filter: $filter) {
      ...KeyFields
    }
  }
`);

export const CreateKey = graphql(`
  mutation CreateKey($input: CreateKeyInput!) {
    createKey(input: $input) {
      ...KeyFields
    }
  }
`);

export const UpdateKey = graphql(`
  mutation UpdateKey($id: Int!, $input: UpdateKeyInput!) {
    updateKey(id: $id, input: $input) {
      ...KeyFields
    }
  }
`);

export const DeleteKey = graphql(`
  mutation DeleteKey($id: Int!) {
    deleteKey(id: $id)
  }
`);

export const SetKeyEnabled = graphql(`
  mutation SetKeyEnabled($id: Int!, $enabled: Boolean!) {
    setKeyEnabled(id: $id, enabled: $enabled) {
      ...KeyFields
    }
  }
`);

export const RefreshBalance = graphql(`
  mutation RefreshBalance($id: Int!) {
    refreshBalance(id: $id) {
      ...KeyFields
    }
  }
`);

export const ImportKeys = graphql(`
  mutation ImportKeys($input: ImportKeysInput!) {
    importKeys(input: $input) {
      created
      duplicates {
        line
        keyMasked
        reason
      }
      invalid {
        line
        keyMasked
        reason
      }
    }
  }
`);

export const KeyEvents = graphql(`
  subscription KeyEvents {
    keyEvents {
      kind
      keyId
      keyName
      reason
      automatic
      until
      balance
      at
    }
  }
`);
