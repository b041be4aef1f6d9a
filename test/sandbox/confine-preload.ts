// TEST-ONLY preload (node --import): confines the process with policy.ts confineSelf() before
// the real server's main module runs, standing in for the call the server itself must make
// once it holds the hand-off fds. Inherited-fd hand-off only (sockets are gone afterwards).
import { confineSelf } from '../../daemon/sandbox/policy.js';

confineSelf();
