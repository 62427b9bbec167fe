#!/usr/bin/env -S node --max-semi-space-size=1
// The `nimbus` executable: runs the compiled CLI (built by `npm ci` through the prepare script).
//
// --max-semi-space-size=1 (MiB) keeps V8's young generation at its initial size instead of letting it
// grow to 2 × 16 MiB under sustained load, and makes young collections frequent enough that request
// body buffers (a fresh one per socket read, garbage once written) are freed within a few MiB of
// traffic rather than after 32 MiB. Measured on the benchmark (small-blobs, then big-blob): server peak
// RSS while moving 256 MiB about 150 → 110 MiB, with small-blob and listing throughput unchanged within
// noise. `npm start` and the benchmark pass the same flag; without it Nimbus works the same, just larger.
import '../dist/cli/main.js';
