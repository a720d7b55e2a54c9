// Fails when src/gql is stale: regenerates into a scratch folder and compares file by file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const scratch = mkdtempSync(join(tmpdir(), 'amp-pool-gql-'));
try {
  execFileSync('npx', ['graphql-codegen', '--config', 'codegen.ts', '--silent'], {
    stdio: 'inherit',
    env: { ...process.env, CODEGEN_OUT: `${scratch}/` },
  });
  const fresh = readdirSync(scratch).sort();
  const checked = readdirSync('src/gql').sort();
  const stale = [...new Set([...fresh, ...checked])].filter((name) => {
    try {
      return readFileSync(join(scratch, name), 'utf8') !== readFileSync(join('src/gql', name), 'utf8');
    } catch {
      return true;
    }
  });
  if (stale.length > 0) {
    console.error(`src/gql is stale (${stale.join(', ')}); run \`npm run codegen\` and commit the result.`);
    process.exit(1);
  }
  console.log('src/gql is up to date.');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
