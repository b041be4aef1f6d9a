// Debug one-liners: readable, single-line, sanitized, and never throwing on garbage.

import { Op } from './abi.js';
import { printReply, printRequest } from './print.js';
import { hex, request, str } from './testing/hex.js';

describe('print', () => {
  test('a LOOKUP request', () => {
    expect(printRequest(request(Op.LOOKUP, hex(str('hello')), { unique: 4n, nodeid: 1n, uid: 0, gid: 0, pid: 77 })))
      .toBe('LOOKUP unique=4 nodeid=1 uid=0 gid=0 pid=77 name="hello"');
  });
  test('control characters in names are escaped, output stays one line', () => {
    const line = printRequest(request(Op.UNLINK, hex(`0a 1b 41 00`)));
    expect(line).toContain('name="\\x0a\\x1bA"');
    expect(line).not.toMatch(/\n/);
  });
  test('batch forget lists items; long payloads are cut', () => {
    const line = printRequest(request(Op.WRITE, Buffer.concat([hex(`01 00 00 00 00 00 00 00 ${'00 '.repeat(8)} c8 00 00 00 ${'00 '.repeat(20)}`), Buffer.alloc(200, 0x41)])));
    expect(line).toMatch(/^WRITE .* size=200 .*data="A{64}"…\(200\)$/);
  });
  test('undecodable requests print as such', () => {
    expect(printRequest(hex('01 02 03'))).toMatch(/^<undecodable request of 3 bytes: fuse protocol: request of 3 bytes/);
  });
  test('replies', () => {
    expect(printReply(4n, Op.LOOKUP, 2, 0)).toBe('reply unique=4 LOOKUP error -2');
    expect(printReply(6n, Op.READ, 0, 4096)).toBe('reply unique=6 READ ok 4096 bytes');
  });
});
