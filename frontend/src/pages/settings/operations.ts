// The settings page's operations.
import { graphql } from '../../gql';

export const Configs = graphql(`
  query Configs {
    configs {
      key
      value
      memo
      isSet
      description
      updateTime
    }
  }
`);

export const SetConfig = graphql(`
  mutation SetConfig($key: String!, $value: JSON!) {
    setConfig(key: $key, value: $value) {
      key
      value
      memo
      isSet
      description
      updateTime
    }
  }
`);

export const ThresholdKeys = graphql(`
  query ThresholdKeys {
    keys {
      id
      name
    }
  }
`);
