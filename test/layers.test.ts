// The layering rules of STYLE.md, enforced: imports only go down. `import type` counts.
// Test files and test-only support (ext4/testing/, journal/testing.ts, fuse/testing/)
// are exempt from the node:fs/child_process rules but not from the layer rules.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const p = join(dir, name);
    const st = statSync(join(ROOT, p));
    if (st.isDirectory()) out.push(...files(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every module specifier a file imports (static, type-only, re-exports, dynamic). */
export function importsOf(src: string): string[] {
  const specs: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m; (m = re.exec(src));) specs.push(m[1] ?? m[2] ?? m[3]);
  return specs;
}

/** Repo-relative target of a relative specifier, or the bare specifier. */
function target(file: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  return relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts');
}

const isTestOnly = (f: string) => f.endsWith('.test.ts') || f.includes('/testing/') || f.endsWith('/testing.ts');
const layerOf = (t: string): string | null => {
  const m = /^daemon\/(util|ext4|fuse|server|sandbox|cli)\//.exec(t);
  if (m) return m[1];
  if (t.startsWith('helper/')) return 'helper';
  if (t.startsWith('daemon/')) return 'daemon-root';
  return null;
};

interface Violation { file: string; spec: string; why: string }

function check(file: string, spec: string): string | null {
  const t = target(file, spec);
  const from = layerOf(file);
  const to = layerOf(t);
  const builtin = spec.startsWith('node:');
  const entry = /\/main\.ts$/.test(file) || /\/index\.ts$/.test(file) && from === 'daemon-root';
  switch (from) {
    case 'util':
      if (to !== null && to !== 'util') return 'util imports only Node built-ins and util';
      if (!builtin && to === null && !spec.startsWith('.')) return 'util imports no packages';
      return null;
    case 'ext4':
      if (to !== null && to !== 'util' && to !== 'ext4') return `ext4 may not import ${to}`;
      if (isTestOnly(file)) return null;
      if (spec === 'node:net' || spec === 'node:child_process') return `ext4 may not use ${spec}`;
      if ((spec === 'node:fs' || spec === 'node:fs/promises') && !file.endsWith('ext4/device.ts')) return 'node:fs only in ext4/device.ts';
      if (file.includes('ext4/journal/') && to === 'ext4' && !t.includes('ext4/journal/') &&
        !/ext4\/(errors|features|context)\.ts$/.test(t)) return 'the journal knows blocks, not inodes or trees';
      return null;
    case 'fuse':
      if (to !== null && to !== 'util' && to !== 'fuse') return `fuse may not import ${to}`;
      return null;
    case 'server':
      if (entry) return null;
      if (to === 'ext4' && !/ext4\/(fs|errors|api)\.ts$/.test(t) && !(isTestOnly(file) && t.includes('ext4/testing/'))) {
        return 'server sees only ext4/fs.ts, ext4/errors.ts and ext4/api.ts';
      }
      if (to === 'sandbox' || to === 'cli' || to === 'helper') return `server may not import ${to}`;
      return null;
    case 'sandbox':
      if (to === 'ext4' || to === 'fuse' || to === 'server' || to === 'cli') return `sandbox may not import ${to}`;
      if (to === 'helper' && !/helper\/(handoff|native)\.ts$/.test(t)) return 'sandbox may import only helper/handoff.ts and helper/native.ts';
      return null;
    case 'helper':
      if (to !== null && to !== 'helper') return 'the helper imports nothing from daemon/';
      return null;
    default:
      return null;
  }
}

describe('layers (STYLE.md)', () => {
  const all = [...files('daemon'), ...files('helper')];

  it('finds the code it checks', () => {
    expect(all.filter((f) => f.startsWith('daemon/ext4/')).length).toBeGreaterThan(10);
    expect(all.filter((f) => f.startsWith('daemon/fuse/')).length).toBeGreaterThan(3);
  });

  it('imports only go down', () => {
    const bad: Violation[] = [];
    for (const f of all) {
      for (const spec of importsOf(readFileSync(join(ROOT, f), 'utf8'))) {
        const why = check(f, spec);
        if (why) bad.push({ file: f, spec, why });
      }
    }
    expect(bad).toEqual([]);
  });

  it('the checker itself catches a violation', () => {
    expect(check('daemon/ext4/extent.ts', '../fuse/abi.js')).toMatch(/ext4 may not import fuse/);
    expect(check('daemon/fuse/session.ts', '../ext4/fs.js')).toMatch(/fuse may not import ext4/);
    expect(check('helper/mount.ts', '../daemon/util/bytes.js')).toMatch(/nothing from daemon/);
    expect(check('daemon/ext4/dir.ts', 'node:fs')).toMatch(/device\.ts/);
    expect(check('daemon/ext4/journal/recovery.ts', '../inode.js')).toMatch(/journal knows blocks/);
    expect(check('daemon/server/bridge.ts', '../ext4/extent.js')).toMatch(/server sees only/);
    expect(importsOf("import type { A } from './a.js';\nexport { b } from \"../b.js\";\nconst x = await import('./c.js');"))
      .toEqual(['./a.js', '../b.js', './c.js']);
  });
});
