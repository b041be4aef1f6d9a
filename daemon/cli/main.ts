#!/usr/bin/env node
// The `ext4box` command. Offline commands read an image directly (no mount, no privilege);
// mount/umount/ps drive the helper and the sandboxed server.

import { Command, CommanderError } from 'commander';
import { cmdCat, cmdInspect, cmdLs, cmdStat, openFromOptions, type ImageOptions } from './commands.js';
import { exitWithError } from './errors.js';
import { extractTree } from './extract.js';
import { loadPosix } from './posix.js';
import { printJson } from './output.js';

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

  return program;
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
