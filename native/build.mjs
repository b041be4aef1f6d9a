// Builds build/Release/ext4box_native.node with node-gyp (npm run build:native; also npm's
// install step). Uses the node-gyp that ships with npm when none is on PATH, and the local
// headers (/usr/include/node, as distro and nodesource packages install them) when they match
// this node, so no header download is needed on an offline machine.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const args = ['rebuild'];
for (const dir of [process.env.npm_config_nodedir, dirname(dirname(process.execPath)), '/usr']) {
  if (!dir) continue;
  const ver = join(dir, 'include', 'node', 'node_version.h');
  if (!existsSync(ver)) continue;
  const h = readFileSync(ver, 'utf8');
  const num = (k) => (new RegExp(`#define ${k} (\\d+)`).exec(h) ?? [])[1];
  if (`v${num('NODE_MAJOR_VERSION')}.${num('NODE_MINOR_VERSION')}.${num('NODE_PATCH_VERSION')}` === process.version) {
    args.push(`--nodedir=${dir}`);
    break;
  }
}
const candidates = [];
if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
const gyp = candidates.find((p) => existsSync(p));
const r = gyp
  ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' })
  : spawnSync('node-gyp', args, { stdio: 'inherit' });
if (r.error) {
  console.error(`build:native: cannot run node-gyp: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
