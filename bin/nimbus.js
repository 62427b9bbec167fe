#!/usr/bin/env -S node --max-semi-space-size=4
// The `nimbus` executable: runs the compiled CLI (built by `npm ci` through the prepare script).
//
// --max-semi-space-size=4 (MiB) keeps V8's young generation small instead of letting it grow to
// 2 × 16 MiB under sustained load, and makes young collections frequent enough that request body
// buffers (a fresh one per socket read, garbage once written) are freed within a few MiB of traffic
// rather than after 32 MiB. Measured with `npm run bench -- --only nimbus --workloads
// small-blobs,big-blob --no-extras` (server peak RSS while moving 256 MiB; GET 4 KiB ops/s):
//   no flag ~150 MiB · 4 MiB: 125–129 MiB, GET 6,900–7,900 · 2 MiB: 122 MiB, GET 7,460 ·
//   1 MiB: 103–114 MiB, but young collections then cost small GETs ~10 % (6,200–7,300 vs
//   7,260–7,630 at 4 MiB, alternating runs of the same probe).
// `npm start` and the benchmark pass the same flag; without it Nimbus works the same, just larger.
import '../dist/cli/main.js';
