import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { contentDigest, diffWalks, parseGetfattr, showBytes, walk, withKernelMount } from './walk.js';
import { materialize, smallTree } from '../fixtures/tree.js';
import { run } from '../fixtures/exec.js';
import { loopSkipReason } from '../fixtures/images.js';

const isRoot = process.getuid?.() === 0;
const loopSkip = loopSkipReason();
if (loopSkip) console.warn(`kernel mount test skipped: ${loopSkip}`);

describe('walker helpers', () => {
  it('shows names injectively: UTF-8 as is, backslash/control/invalid bytes escaped', () => {
    expect(showBytes(Buffer.from('café/𝄞'))).toBe('café/𝄞');
    expect(showBytes(Buffer.from('a\\b'))).toBe('a\\\\b');
    expect(showBytes(Buffer.from('new\nline'))).toBe('new\\x0aline');
    expect(showBytes(Buffer.from([0x62, 0xff, 0x5c]))).toBe('b\\xff\\\\');
    // A valid name spelling "\xff" literally must not collide with the byte 0xff.
    expect(showBytes(Buffer.from('b\\xff'))).not.toBe(showBytes(Buffer.from([0x62, 0xff])));
  });

  it('parses getfattr output incl. octal-escaped names, raw high bytes and empty values', () => {
    const out = Buffer.concat([
      Buffer.from('# file: /r/new\\012line\nuser.a=0x31\nuser.empty=0x\n\n# file: /r/b'),
      Buffer.from([0xff]),
      Buffer.from('\nsystem.posix_acl_access=0x0200AB\n\n'),
    ]);
    const m = parseGetfattr(out);
    expect(m.get(Buffer.from('/r/new\nline').toString('hex'))).toEqual({ 'user.a': '31', 'user.empty': '' });
    expect(m.get(Buffer.concat([Buffer.from('/r/b'), Buffer.from([0xff])]).toString('hex')))
      .toEqual({ 'system.posix_acl_access': '0200ab' });
    expect(() => parseGetfattr(Buffer.from('# file: /x\nuser.a="text"\n'))).toThrow(/encoding/);
  });
});

describe('walker on a real tree', () => {
  let tmp: string;
  beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4box-walk-')); });
  afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

  it('content digest ignores hole layout but not bytes', () => {
    const a = path.join(tmp, 'sparse');
    const b = path.join(tmp, 'dense');
    const fd = fs.openSync(a, 'w');
    fs.writeSync(fd, Buffer.from('tail'), 0, 4, 300000);
    fs.closeSync(fd);
    const dense = Buffer.alloc(300004);
    dense.write('tail', 300000);
    fs.writeFileSync(b, dense);
    const da = contentDigest(Buffer.from(a), 300004n, [[294912, 300004]]);
    expect(da).toBe(contentDigest(Buffer.from(b), 300004n, null));
    expect(da).toBe(contentDigest(Buffer.from(a), 300004n, null));
    dense[5] = 1;
    fs.writeFileSync(b, dense);
    expect(contentDigest(Buffer.from(b), 300004n, null)).not.toBe(da);
  });

  (isRoot ? it : it.skip)('records every field and diffWalks reports each change once', () => {
    const src = path.join(tmp, 'tree');
    materialize(smallTree(), src);
    fs.mkdirSync(path.join(src, 'sub', 'z'));
    fs.symlinkSync(Buffer.from([0x74, 0xff]), Buffer.from(path.join(src, 'rawlink')));
    run('mknod', [path.join(src, 'dev'), 'c', '259', '300000']);
    const w1 = walk(src, { btime: true, layout: true });
    const e = (p: string) => w1.entries.get(p)!;
    expect(e('/').type).toBe('dir');
    expect(e('/sub').nlink).toBe(3);
    expect(e('/hello.txt').links).toEqual(['/hello.txt', '/hl']);
    expect(e('/hello.txt').mtimeNs).toBe(1700000000000000005n);
    expect(e('/link').target).toBe('hello.txt');
    expect(e('/rawlink').target).toBe('t\\xff');
    expect(e('/dev').rdev).toEqual({ major: 259, minor: 300000 });
    expect(e('/attr').xattrs['user.k']).toBe('76');
    expect(e('/sub/data.bin').size).toBe(10000n);
    expect(e('/sub/data.bin').layout).toEqual([[0, 10000]]);
    expect(typeof e('/sub/data.bin').btimeNs).toBe('bigint');
    // readdir/readlink in the first walk moved atimes (relatime): only mtime is stable here.
    expect(diffWalks(w1, walk(src), { times: ['mtime', 'ctime'] })).toEqual([]);
    // ...and the walk records atimes from before it touched anything.
    fs.utimesSync(path.join(src, 'sub'), 1000, 2000);
    fs.utimesSync(path.join(src, 'sub', 'data.bin'), 1000, 2000);
    const w0 = walk(src);
    expect(w0.entries.get('/sub')!.atimeNs).toBe(1000n * 1000000000n);
    expect(w0.entries.get('/sub/data.bin')!.atimeNs).toBe(1000n * 1000000000n);
    expect(walk(src).entries.get('/sub/data.bin')!.atimeNs).toBe(1000n * 1000000000n); // O_NOATIME

    fs.chmodSync(path.join(src, 'attr'), 0o4600);
    fs.appendFileSync(path.join(src, 'sub', 'data.bin'), 'x');
    run('setfattr', ['-n', 'user.k', '-v', 'w', path.join(src, 'attr')]);
    run('setfattr', ['-n', 'user.new', '-v', '1', path.join(src, 'hello.txt')]);
    fs.unlinkSync(path.join(src, 'hl'));
    fs.rmdirSync(path.join(src, 'sub', 'z'));
    fs.writeFileSync(path.join(src, 'extra'), '');
    fs.utimesSync(path.join(src, 'link', '..', 'hello.txt'), 1, 2);
    const d = diffWalks(w0, walk(src), { times: ['mtime'] });
    const has = (re: RegExp) => expect(d.filter((l) => re.test(l))).toHaveLength(1);
    has(/^\/attr: mode expected 0644, got 04600$/);
    has(/^\/attr: xattr user\.k expected 0x76 \(1 bytes\), got 0x77 \(1 bytes\)$/);
    has(/^\/sub\/data\.bin: size expected 10000, got 10001$/);
    has(/^\/sub\/data\.bin: mtime expected 2000\.000000000, got /);
    has(/^\/sub\/data\.bin: content expected /);
    has(/^\/hello\.txt: xattr user\.new unexpected/);
    has(/^\/hl: missing \(expected file\)$/);
    has(/^\/hello\.txt: nlink expected 2, got 1$/);
    has(/^\/hello\.txt: links expected \/hello\.txt \| \/hl, got $/);
    has(/^\/sub\/z: missing \(expected dir\)$/);
    has(/^\/sub: nlink expected 3, got 2$/);
    has(/^\/extra: unexpected file$/);
    has(/^\/hello\.txt: mtime expected 1700000000\.000000005, got 2\.000000000$/);
  });

  (loopSkip ? it.skip : it)('withKernelMount mounts read-only and always unmounts, also when fn throws', async () => {
    const img = path.join(tmp, 'k.img');
    const src = path.join(tmp, 'ksrc');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'f'), 'kernel');
    run('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', src, img, '4M']);
    let seen = '';
    const w = await withKernelMount(img, (dir) => {
      seen = dir;
      expect(() => fs.writeFileSync(path.join(dir, 'g'), 'x')).toThrow(/EROFS/);
      return walk(dir);
    });
    expect(w.entries.get('/f')!.size).toBe(6n);
    expect(fs.existsSync(seen)).toBe(false);
    await expect(withKernelMount(img, () => { throw new Error('boom'); })).rejects.toThrow('boom');
    const mounts = fs.readFileSync('/proc/self/mounts', 'utf8');
    expect(mounts).not.toContain('ext4box-kmnt-');
  });
});
