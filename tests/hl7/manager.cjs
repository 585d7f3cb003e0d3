// manager.cjs: an alarm manager for the hl7 plugin's alarms-out tests
// (tests/test_hl7.c, ctest hl7_interop): node-hl7-server listens for MLLP on
// 127.0.0.1:PORT, parses each ORU^R40 vigil sends with its own parser,
// appends what it read to OUT as one JSON line, and answers with its own ACK
// (AA; AE for the control ids listed in AE_ONCE, once each; AR, with the
// reason 'no pager for this patient', for a patient whose PID-3.1 starts
// with AR-).
//
//   node manager.cjs NODE_MODULES PORT OUT [AE_ONCE,...]
'use strict';
const fs = require('fs');
const path = require('path');

const [nodeModules, port, out, aeOnce] = process.argv.slice(2);
const { Server } = require(path.join(nodeModules, 'node-hl7-server'));
const failOnce = new Set((aeOnce || '').split(',').filter(Boolean));

function field(msg, p) {
  try {
    return msg.get(p).toString();
  } catch (e) {
    return null;
  }
}

// OBX-5 of the message's (i + 1)th OBX.
function obx(msg, i) {
  try {
    return msg.get('OBX').get(i).get(5).toString();
  } catch (e) {
    return null;
  }
}

const server = new Server({ bindAddress: '127.0.0.1' });
const inbound = server.createInbound({ port: Number(port) }, async (req, res) => {
  const m = req.getMessage();
  const control = field(m, 'MSH.10');
  const line = {
    control,
    type: `${field(m, 'MSH.9.1')}^${field(m, 'MSH.9.2')}`,
    profile: field(m, 'MSH.21.1'),
    patient: field(m, 'PID.3.1'),
    authority: field(m, 'PID.3.4'),
    family: field(m, 'PID.5.1'),
    given: field(m, 'PID.5.2'),
    class: field(m, 'PV1.2'),
    location: field(m, 'PV1.3.1'),
    alert: field(m, 'OBR.2.1'),
    event: field(m, 'OBX.3.2'),
    text: field(m, 'OBX.5'),
    text_type: field(m, 'OBX.2'),
    priority: field(m, 'OBX.8'),
    phase: obx(m, 1),
    state: obx(m, 2),
    inactivation: obx(m, 3),
  };
  const ae = failOnce.has(control);
  if (ae) failOnce.delete(control);
  const ar = (line.patient || '').startsWith('AR-');
  line.answered = ar ? 'AR' : ae ? 'AE' : 'AA';
  fs.appendFileSync(out, JSON.stringify(line) + '\n');
  await res.sendResponse(line.answered);
});
inbound.on('listen', () => fs.appendFileSync(out, JSON.stringify({ listening: Number(port) }) + '\n'));
process.on('SIGTERM', async () => {
  await inbound.close();
  process.exit(0);
});
