// The one confinement policy every runtime consumes: deploy/seccomp.json (OCI/Docker seccomp
// profile format), found beside the code, plus the server's self-confinement (no_new_privs and
// the same allow-list minus its start-only entries) — the second line of defence the server
// applies in every runtime, after it holds the hand-off fds and before it reads the image.
// Start-only entries (comment "start-only: ...") exist because a container runtime installs
// the profile before exec'ing the entry point, which then still binds/accepts the hand-off.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNative, seccompFilterFromOci, type OciSeccompProfile } from '../../helper/native.js';

export type SandboxKind = 'docker' | 'bare' | 'none';
export const SANDBOX_KINDS: readonly SandboxKind[] = ['docker', 'bare', 'none'];

/** The uid/gid the server runs as in every runtime (nobody/nogroup). */
export const SERVER_UID = 65534;
export const SERVER_GID = 65534;

export class SandboxError extends Error {
  override name = 'SandboxError';
  constructor(readonly kind: SandboxKind | 'policy', message: string) {
    super(message);
  }
}

/** The repository (or image) root above this file, from source (daemon/sandbox) or dist. */
export function codeRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'deploy', 'seccomp.json'))) return d;
    d = dirname(d);
  }
  throw new SandboxError('policy', 'cannot find deploy/seccomp.json above the code');
}

export function seccompProfilePath(): string {
  const env = process.env.EXT4BOX_SECCOMP_PROFILE;
  return env ? resolve(env) : join(codeRoot(), 'deploy', 'seccomp.json');
}

const START_ONLY = /^start-only:/;

/** Reads and shape-checks the profile (our own file, but a broken edit must fail loudly). */
export function readSeccompProfile(path = seccompProfilePath()): OciSeccompProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new SandboxError('policy', `cannot read seccomp profile ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const p = raw as OciSeccompProfile;
  if (typeof p !== 'object' || p === null || typeof p.defaultAction !== 'string' || !Array.isArray(p.syscalls)
    || !p.syscalls.every((s) => Array.isArray(s.names) && s.names.every((n) => typeof n === 'string') && typeof s.action === 'string')) {
    throw new SandboxError('policy', `seccomp profile ${path} is not an OCI profile`);
  }
  if (p.defaultAction === 'SCMP_ACT_ALLOW') throw new SandboxError('policy', `seccomp profile ${path} allows by default`);
  seccompFilterFromOci(p); // every action, operator and value must convert
  return p;
}

/** The profile the running server loads on itself: start-only entries removed, so exec,
 *  socket creation, bind, listen, accept and connect all fall to the default (EPERM). */
export function selfProfile(p: OciSeccompProfile): OciSeccompProfile {
  const syscalls = (p.syscalls ?? []).filter((s) => !START_ONLY.test((s as { comment?: string }).comment ?? ''));
  return { ...p, syscalls };
}

export interface ConfineReport {
  noNewPrivs: boolean;
  /** Syscall names in the profile this kernel/libseccomp does not know (skipped). */
  unknownSyscalls: number;
}

/**
 * Confines the calling process for good: PR_SET_NO_NEW_PRIVS, then the self profile on every
 * thread. Call it once the hand-off fds are held and before the image is read. Irreversible.
 */
let confined: ConfineReport | null = null;

export function confineSelf(profilePath?: string): ConfineReport {
  // Idempotent: the self profile drops seccomp() itself, so a second load in the same process
  // (a preload, then the server's own call) would fail; once confined, stay as we are.
  if (confined) return confined;
  const n = loadNative();
  const profile = selfProfile(readSeccompProfile(profilePath));
  n.prctl(n.constants.PR_SET_NO_NEW_PRIVS, 1);
  const noNewPrivs = n.prctl(n.constants.PR_GET_NO_NEW_PRIVS, 0) === 1;
  if (!noNewPrivs) throw new SandboxError('policy', 'PR_SET_NO_NEW_PRIVS did not stick');
  const unknownSyscalls = n.seccompLoad(seccompFilterFromOci(profile));
  confined = { noNewPrivs, unknownSyscalls };
  return confined;
}
