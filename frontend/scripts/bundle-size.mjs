// Prints the gzip size of what the console's first page load fetches: the JS and CSS that
// dist/index.html links (entry and modulepreloads), not the lazy chunks of the pages.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = 'dist';
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const linked = [...html.matchAll(/(?:src|href)="\/?(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
const initial = [...new Set(linked)];

let raw = 0;
let gzip = 0;
for (const file of initial) {
  const bytes = readFileSync(join(dist, file));
  const packed = gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length;
  gzip += packed;
  console.log(`${file.padEnd(48)} ${(bytes.length / 1024).toFixed(1).padStart(8)} KiB  gzip ${(packed / 1024).toFixed(1).padStart(7)} KiB`);
}
console.log(`initial load: ${initial.length} files, ${(raw / 1024).toFixed(1)} KiB, gzip ${(gzip / 1024).toFixed(1)} KiB`);

let all = 0;
for (const file of readdirSync(join(dist, 'assets'))) {
  if (/\.(js|css)$/.test(file)) all += gzipSync(readFileSync(join(dist, 'assets', file)), { level: 9 }).length;
}
console.log(`all assets (including lazy chunks): gzip ${(all / 1024).toFixed(1)} KiB`);
