// The client tokens page's operations.
import { graphql } from '../../gql';

export const TokenFieldsFragment = graphql(`
  fragment TokenFields on AccessToken {
    id
    name
    tokenPrefix
    enabled
    expiresAt
    expired
    models
    budget
    spend
    rpmLimit
    lastUsedAt
    memo
    createTime
  }
`);

export const AccessTokens = graphql(`
  query AccessTokens {
    accessTokens {
      ...TokenFields
    }
  }
`);

export const CreateAccessToken = graphql(`
  mutation CreateAccessToken($input: CreateAccessTokenInput!) {
    createAccessToken(input: $input) {
      token
      accessToken {
        ...TokenFields
      }
    }
  }
`);

export const RevokeAccessToken = graphql(`
  mutation RevokeAccessToken($id: Int!) {
    revokeAccessToken(id: $id) {
      ...TokenFields
    }
  }
`);
