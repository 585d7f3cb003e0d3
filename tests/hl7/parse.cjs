// parse.cjs: node-hl7-client's own parser reads one message vigil built
// (tests/test_hl7_r01.c, ctest hl7_r01_interop) and says what it found.
//
//   node parse.cjs NODE_MODULES FILE PATH...
//
// FILE holds one message (segments ended by CR). Prints one JSON object:
// each PATH ("MSH.9.1", "OBX.3.1" for the first OBX, "OBX[2].5" for the
// second) with the value the parser gives, or null. Exits 1 when the
// message does not parse.
'use strict';
const fs = require('fs');
const path = require('path');

const [nodeModules, file, ...paths] = process.argv.slice(2);
const { Message } = require(path.join(nodeModules, 'node-hl7-client'));

const msg = new Message({ text: fs.readFileSync(file, 'utf8') });
const out = {};
for (const p of paths) {
  try {
    const nth = /^([A-Z0-9]{3})\[(\d+)\]\.(.*)$/.exec(p);
    out[p] = nth ? msg.get(nth[1]).get(Number(nth[2]) - 1).get(nth[3]).toString() : msg.get(p).toString();
  } catch (e) {
    out[p] = null;
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
