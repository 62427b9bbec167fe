// Nimbus-only figures with no Azurite counterpart, printed after the main table by `npm run bench`
// (skip with --no-extras): the page engine (snapshot of a 1 TiB sparse disk, diff of 1,000 changed
// ranges), cross-region copy of a chain of 10 incremental snapshots (bytes shipped vs changed), and
// VM-preserving maintenance under QEMU (pause p50/p99, clock error after sync; skipped without QEMU).
import { runPagesBench } from './pages.js';
import { benchCrossRegionCopy } from './disks.js';
import { renderComputeReport, runComputeBench } from './compute.js';

export async function runExtras(log: (line: string) => void): Promise<string> {
  const lines: string[] = ['', '### Nimbus only: disks, snapshots and maintenance', ''];
  const pages = await runPagesBench(() => undefined);
  lines.push('| page engine | median ms | max ms | detail |', '| --- | --- | --- | --- |');
  for (const figure of pages) lines.push(`| ${figure.name} | ${figure.medianMs.toFixed(3)} | ${figure.maxMs.toFixed(3)} | ${figure.detail.trim()} |`);
  log('page engine done');
  const copy = await benchCrossRegionCopy(10);
  lines.push(
    '',
    `Cross-region copy (CopyStart) of ${copy.snapshots} incremental snapshots: ${copy.shippedBytes} bytes shipped for ${copy.changedBytes} bytes changed = ${copy.ratio.toFixed(3)}× (target ≤ 1.05×: ${copy.ratio <= 1.05 ? 'met' : '**missed**'}); median copy ${copy.copyMsMedian.toFixed(0)} ms.`,
  );
  log('cross-region copy done');
  const compute = await runComputeBench({ log });
  lines.push('', renderComputeReport(compute));
  return lines.join('\n');
}
