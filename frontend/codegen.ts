// graphql-codegen: types every `graphql()` call in src/ from the server's schema.
// `CODEGEN_OUT` lets `npm run codegen:check` write to a scratch folder and compare.
import type { CodegenConfig } from '@graphql-codegen/cli';

const out = process.env.CODEGEN_OUT ?? './src/gql/';

const config: CodegenConfig = {
  schema: '../schema.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**/*'],
  ignoreNoDocuments: true,
  generates: {
    [out]: {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: 'string', JSON: 'unknown' },
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: true,
      },
    },
  },
};

export default config;
