// Writes one benchmark's section of docs/benchmarks.md through bench/report.py,
// so the TypeScript and the Python benchmarks share one writer; and names the machine.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../test-support/worker.ts';

export function writeSection(name: string, lines: string[]): void {
  const script = `import sys; sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'bench'))}); from report import write_section; write_section(${JSON.stringify(name)}, sys.stdin.read())`;
  execFileSync(path.join(ROOT, '.venv/bin/python'), ['-c', script], { input: lines.join('\n') });
  console.log(lines.join('\n'));
}

export function machine(): string {
  const cpu = /Model name:\s+(.*)/.exec(execFileSync('lscpu', { encoding: 'utf8' }))?.[1] ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, no GPU`;
}
