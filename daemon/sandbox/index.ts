// The sandbox layer's public surface: one policy (deploy/seccomp.json + self-confinement),
// three runtimes (docker, bare, none), and the default choice between them.
export { confineSelf, readSeccompProfile, selfProfile, seccompProfilePath, codeRoot, SandboxError, SANDBOX_KINDS, SERVER_UID, SERVER_GID } from './policy.js';
export type { SandboxKind, ConfineReport } from './policy.js';
export { bareSandbox, bareCommand, barePaths, launcherScript, sharedLibraries } from './bare.js';
export type { BareOptions, BareSandbox } from './bare.js';
export { dockerSandbox, dockerAvailable, dockerEngine, buildLocalImage, imageContentHash, unixListening, demuxLogs, DEFAULT_SERVER_CMD, CONTAINER_SOCKET } from './docker.js';
export type { DockerOptions, DockerSandbox } from './docker.js';
export { defaultSandbox, defaultSandboxSync, dockerStartSync, dockerStopSync, bareCommandSync } from './launch.js';
export type { DockerStarted } from './launch.js';
