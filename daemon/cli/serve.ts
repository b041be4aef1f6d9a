// `ext4box serve --config FILE`: the supervisor as a long-running service (docker-compose,
// systemd). Mounts every entry of a YAML file through the same path as `ext4box mount`,
// stays up, and unmounts them all on SIGTERM/SIGINT.
//   mounts:
//     - image: /srv/images/disk.img
//       mountpoint: /mnt/ext4box/disk
//       options: [ro, allow_other]      # optional
//       sandbox: docker                 # optional: none | bare | docker (default as mount)

import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { UsageError } from './errors.js';
import { cmdMount, unmountQuietly } from './mount.js';

export interface ServeEntry {
  image: string;
  mountpoint: string;
  options: string[];
  sandbox?: string;
}

/** Parses and validates the config; every problem is one UsageError line. */
export function parseServeConfig(text: string, file: string): ServeEntry[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const mounts = (doc as { mounts?: unknown } | null)?.mounts;
  if (!Array.isArray(mounts) || mounts.length === 0) throw new UsageError(`${file}: wants a non-empty 'mounts' list`);
  return mounts.map((m: unknown, i: number) => {
    const e = m as Record<string, unknown>;
    const where = `${file}: mounts[${i}]`;
    if (typeof e?.image !== 'string' || !e.image) throw new UsageError(`${where}: 'image' must be a path`);
    if (typeof e.mountpoint !== 'string' || !e.mountpoint) throw new UsageError(`${where}: 'mountpoint' must be a path`);
    const options = e.options ?? [];
    if (!Array.isArray(options) || !options.every((o) => typeof o === 'string')) throw new UsageError(`${where}: 'options' must be a list of strings`);
    if (e.sandbox !== undefined && (typeof e.sandbox !== 'string' || !['none', 'bare', 'docker'].includes(e.sandbox))) {
      throw new UsageError(`${where}: 'sandbox' must be none, bare or docker`);
    }
    return { image: e.image, mountpoint: e.mountpoint, options: options as string[], sandbox: e.sandbox as string | undefined };
  });
}

export async function cmdServe(o: { config: string }): Promise<void> {
  let text: string;
  try {
    text = readFileSync(o.config, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${o.config}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const entries = parseServeConfig(text, o.config);
  const mounted: string[] = [];
  const stop = (sig: string) => {
    process.stderr.write(`ext4box serve: ${sig}: unmounting ${mounted.length} mount(s)\n`);
    for (const m of mounted.reverse()) unmountQuietly(m);
    process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  for (const e of entries) {
    await cmdMount(e.image, e.mountpoint, { options: e.options.length ? [e.options.join(',')] : undefined, sandbox: e.sandbox });
    mounted.push(e.mountpoint);
  }
  process.stderr.write(`ext4box serve: ${mounted.length} mount(s) serving; SIGTERM unmounts\n`);
  // Stay up: the servers run on their own; this process owns their lifetime.
  setInterval(() => undefined, 1 << 30);
}
