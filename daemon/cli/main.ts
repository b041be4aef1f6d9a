#!/usr/bin/env node
// The `ext4box` command. Offline commands read an image directly (no mount, no privilege);
// mount/umount/ps drive the helper and the sandboxed server.

import { Command, CommanderError } from 'commander';
import { cmdCat, cmdInspect, cmdLs, cmdStat, openFromOptions, type ImageOptions } from './commands.js';
import { exitWithError } from './errors.js';
import { extractTree } from './extract.js';
import { loadPosix } from './posix.js';
import { printJson } from './output.js';
import { cmdMount, cmdPs, cmdUmount, MountCliError } from './mount.js';
import { cmdServe } from './serve.js';

const debug = process.argv.includes('--debug');

function imageOpts(c: Command): Command {
  return c
    .option('--offset <bytes>', 'byte offset of the filesystem inside the image')
    .option('--partition <n>', 'use partition N of an MBR/GPT disk image')
    .option('--no-journal', 'do not replay a dirty journal in memory (show the image as written)')
    .option('--json', 'structured output')
    .option('--debug', 'stack traces on errors');
}

function run(f: () => void | Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await f();
    } catch (e) {
      exitWithError(e, debug);
    }
  };
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('ext4box')
    .description('Sandboxed ext2/3/4: read untrusted images offline, or mount them through a confined FUSE server')
    .showSuggestionAfterError(true)
    .exitOverride();

  imageOpts(program.command('inspect').argument('<image>'))
    .description('superblock, features, groups, journal state and a health summary')
    .option('--groups', 'list every block group')
    .action((image: string, o: ImageOptions & { groups?: boolean }) => run(() => cmdInspect(image, o))());

  imageOpts(program.command('ls').argument('<image>').argument('[path]', 'path inside the image', '/'))
    .description('list a directory inside the image')
    .option('-l, --long', 'long listing')
    .option('-a, --all', 'include . and ..')
    .action((image: string, path: string, o: ImageOptions & { long?: boolean; all?: boolean }) => run(() => cmdLs(image, path, o))());

  imageOpts(program.command('cat').argument('<image>').argument('<path>'))
    .description('write a file from the image to stdout')
    .action((image: string, path: string, o: ImageOptions) => run(() => cmdCat(image, path, o))());

  imageOpts(program.command('stat').argument('<image>').argument('<path>'))
    .description('inode details of a path, with its xattrs')
    .action((image: string, path: string, o: ImageOptions) => run(() => cmdStat(image, path, o))());

  imageOpts(program.command('extract').argument('<image>').argument('<dest>'))
    .description('copy the whole tree out: modes, owners (as root), ns times, xattrs, ACLs, links, devices, holes')
    .option('--no-owners', 'do not restore owners (default: restore when running as root)')
    .option('--no-xattrs', 'do not restore xattrs and ACLs')
    .option('--no-progress', 'no progress bar')
    .action((image: string, dest: string, o: ImageOptions & { owners: boolean; xattrs: boolean; progress: boolean }) => run(async () => {
      const fs = openFromOptions(image, o);
      let errors = 0;
      try {
        const res = await extractTree(fs, dest, {
          owners: o.owners && process.getuid?.() === 0,
          xattrs: o.xattrs,
          progress: o.progress && !o.json,
          posix: loadPosix(),
          onError: (p, m) => {
            errors++;
            if (errors <= 100) process.stderr.write(`ext4box: extract ${p}: ${m}\n`);
          },
        });
        if (errors > 100) process.stderr.write(`ext4box: ... ${errors - 100} more errors\n`);
        if (o.json) printJson(res);
        else process.stdout.write(`extracted ${res.dirs} dirs, ${res.files} files (${res.bytes} bytes), ${res.symlinks} symlinks, ${res.hardlinks} hardlinks, ${res.specials} special files${res.errors ? `; ${res.errors} damaged entries skipped` : ''}\n`);
      } finally {
        fs.close();
      }
      if (errors) process.exitCode = 1;
    })());

  registerMountCommands(program);
  return program;
}

/** Runs a supervisor command; MountCliError is one line on stderr and its exit code. */
function runMount(f: () => void | Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await f();
    } catch (e) {
      if (e instanceof MountCliError) {
        process.stderr.write(`${e.message.startsWith('ext4box') ? '' : 'ext4box: '}${e.message}\n`);
        process.exit(e.exitCode);
      }
      exitWithError(e, debug);
    }
  };
}

function registerMountCommands(program: Command): void {
  const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
  program.command('mount').argument('<image>').argument('<mountpoint>')
    .description('mount an image read-only through the sandboxed FUSE server (needs root)')
    .option('-o, --options <list>', 'mount options: ro, offset=N, partition=N, allow_other, noexec, noatime, errors=...', collect)
    .option('-f, --foreground', 'stay in the foreground; Ctrl-C unmounts')
    .option('--sandbox <kind>', 'how the server is confined: none, bare, docker (default: docker when an engine answers, else bare)')
    .option('--json', 'structured output')
    .option('--debug', 'stack traces on errors')
    .action((image: string, mnt: string, o: { options?: string[]; foreground?: boolean; sandbox?: string; json?: boolean }) =>
      runMount(() => cmdMount(image, mnt, o))());
  program.command('umount').argument('<mountpoint>')
    .description('unmount an ext4box mount (also one whose server died)')
    .option('-l, --lazy', 'detach lazily when busy')
    .option('--json', 'structured output')
    .action((mnt: string, o: { lazy?: boolean; json?: boolean }) => runMount(() => cmdUmount(mnt, o))());
  program.command('serve')
    .description('supervisor service: mount every entry of a YAML config, unmount all on SIGTERM')
    .requiredOption('--config <file>', 'YAML file with a mounts: list (image, mountpoint, options, sandbox)')
    .action((o: { config: string }) => runMount(() => cmdServe(o))());
  program.command('ps')
    .description('list ext4box mounts: mountpoint, image, sandbox, server, uptime, state')
    .option('--json', 'structured output')
    .action((o: { json?: boolean }) => runMount(() => cmdPs(o))());
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed its one line; help and version are not failures.
      process.exit(e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : 2);
    }
    exitWithError(e, debug);
  }
}

void main();
