// Schema self-checks: every struct has the kernel's sizeof (uapi fuse.h 7.45, x86_64) and,
// where the kernel struct is packed, no gaps; flag bits match the header's values.

import { type FieldSpec, schemaGaps, type StructSchema } from '../util/bytes.js';
import * as A from './abi.js';

const sizes: Record<string, number> = {
  fuse_in_header: 40, fuse_out_header: 16, fuse_attr: 88, fuse_entry_out: 128, fuse_attr_out: 104,
  fuse_init_in: 64, fuse_init_out: 64, fuse_statx: 256, fuse_statx_out: 288, fuse_statx_in: 24,
  fuse_sx_time: 16, fuse_dirent: 24, fuse_kstatfs: 80, fuse_statfs_out: 80, fuse_setattr_in: 88,
  fuse_read_in: 40, fuse_write_in: 40, fuse_write_out: 8, fuse_open_in: 8, fuse_open_out: 16,
  fuse_create_in: 16, fuse_release_in: 24, fuse_flush_in: 24, fuse_fsync_in: 16, fuse_getattr_in: 16,
  fuse_mknod_in: 16, fuse_mkdir_in: 8, fuse_rename_in: 8, fuse_rename2_in: 16, fuse_link_in: 8,
  fuse_setxattr_in: 16, fuse_getxattr_in: 8, fuse_getxattr_out: 8, fuse_lk_in: 48, fuse_lk_out: 24,
  fuse_file_lock: 24, fuse_access_in: 8, fuse_interrupt_in: 8, fuse_bmap_in: 16, fuse_bmap_out: 8,
  fuse_ioctl_in: 32, fuse_ioctl_out: 16, fuse_ioctl_iovec: 16, fuse_poll_in: 24, fuse_poll_out: 8,
  fuse_fallocate_in: 32, fuse_lseek_in: 24, fuse_lseek_out: 8, fuse_copy_file_range_in: 56,
  fuse_copy_file_range_out: 8, fuse_forget_in: 8, fuse_forget_one: 16, fuse_batch_forget_in: 8,
  fuse_notify_retrieve_in: 40, fuse_notify_inval_inode_out: 24, fuse_notify_inval_entry_out: 16,
  fuse_notify_delete_out: 24, fuse_notify_store_out: 24, fuse_notify_retrieve_out: 32,
  fuse_notify_poll_wakeup_out: 8, fuse_notify_prune_out: 16, fuse_ext_header: 8, fuse_secctx_header: 8,
  fuse_secctx: 8, fuse_supp_groups: 4, fuse_setupmapping_in: 40, fuse_removemapping_in: 4,
  fuse_removemapping_one: 16, fuse_syncfs_in: 8,
};

describe('fuse ABI schemas', () => {
  test.each(A.allSchemas.map((s) => [s.name, s] as const))('%s has the kernel size and no gaps', (name, s) => {
    expect(sizes[name]).toBeDefined();
    expect(s.size).toBe(sizes[name]);
    expect(schemaGaps(s as unknown as StructSchema<readonly FieldSpec[]>)).toEqual([]);
  });

  test('every size in the table has a schema', () => {
    expect(Object.keys(sizes).sort()).toEqual(A.allSchemas.map((s) => s.name).sort());
  });

  test('direntplus name offset = entry_out + dirent header; align rounds to 8', () => {
    expect(A.FUSE_NAME_OFFSET_DIRENTPLUS).toBe(A.fuse_entry_out.size + A.fuse_dirent.size);
    expect([0, 1, 8, 9, 25].map(A.direntAlign)).toEqual([0, 8, 8, 16, 32]);
  });

  test('INIT flag bits as in fuse.h', () => {
    expect(A.Init.ASYNC_READ).toBe(1n);
    expect(A.Init.DO_READDIRPLUS).toBe(0x2000n);
    expect(A.Init.MAX_PAGES).toBe(0x400000n);
    expect(A.Init.INIT_EXT).toBe(0x40000000n);
    expect(A.Init.SECURITY_CTX).toBe(0x1_0000_0000n);
    expect(A.Init.REQUEST_TIMEOUT).toBe(1n << 42n);
    // what 6.18.44 offers decodes to the expected names
    const offered = (0x5fdn << 32n) | 0x73fffffbn;
    const names = A.initFlagNames(offered);
    expect(names).toContain('SETXATTR_EXT');
    expect(names).not.toContain('FILE_OPS');
    expect(names).not.toContain('OVER_IO_URING');
  });

  test('opcode numbers and names', () => {
    expect(A.Op.LOOKUP).toBe(1);
    expect(A.Op.MKNOD).toBe(8);
    expect(A.Op.STATX).toBe(52);
    expect(A.Op.COPY_FILE_RANGE_64).toBe(53);
    expect(A.opName(44)).toBe('READDIRPLUS');
    expect(A.opName(7)).toBe('OP_7');
  });
});
