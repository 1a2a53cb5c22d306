// A small disk of its own, for tests of what a full disk does: a tmpfs mounted
// on a new folder (as root, or through sudo), and a file that fills it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeSync, closeSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface SmallDisk {
  dir: string;
  /** Writes a file until the disk refuses more (ENOSPC); returns its path. */
  fill(): string;
  unmount(): void;
}

const asRoot = (args: string[]) => {
  const root = process.getuid?.() === 0;
  execFileSync(root ? args[0]! : 'sudo', root ? args.slice(1) : ['-n', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
};

export function mountSmallDisk(megabytes: number): SmallDisk {
  const dir = mkdtempSync(path.join(tmpdir(), 'small-disk-'));
  try {
    asRoot(['mount', '-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', dir]);
  } catch (e) {
    throw new Error(`mounting a ${megabytes} MB tmpfs on ${dir} needs root (or sudo without a password): ${(e as Error).message}`);
  }
  return {
    dir,
    fill() {
      const filler = path.join(dir, 'filler');
      const fd = openSync(filler, 'w');
      const chunk = Buffer.alloc(64 << 10, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
        // Bytes left over (less than a chunk): a 4 KiB page at a time until nothing fits.
        try {
          for (;;) writeSync(fd, chunk.subarray(0, 4096));
        } catch {}
      } finally {
        closeSync(fd);
      }
      return filler;
    },
    unmount() {
      try {
        asRoot(['umount', '-l', dir]);
        rmdirSync(dir);
      } catch {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
