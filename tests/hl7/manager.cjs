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

// PATH ("5", "3.2") of the message's (i + 1)th OBX, or null.
function obx(msg, i, p) {
  try {
    return msg.get('OBX').get(i).get(p).toString();
  } catch (e) {
    return null;
  }
}

// OBX-5 of the OBX whose OBX-3.2 is name (an ACM attribute: the phase, the
// alarm state...), found by its code as a manager does, not by its place: a
// vital sign's alarm has its source observation in OBX 2 (J4).
function attribute(msg, name) {
  for (let i = 0; i < 16; i++) if (obx(msg, i, '3.2') === name) return obx(msg, i, '5');
  return null;
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
    phase: attribute(m, 'MDC_ATTR_EVENT_PHASE'),
    state: attribute(m, 'MDC_ATTR_ALARM_STATE'),
    inactivation: attribute(m, 'MDC_ATTR_ALARM_INACTIVATION_STATE'),
    // J4: the alarm's source, a vital sign's observation (OBX 2, typed NM)
    source_type: obx(m, 1, '2'),
    source: obx(m, 1, '3.2'),
    reading: obx(m, 1, '5'),
    units: obx(m, 1, '6.2'),
    limits: obx(m, 1, '7'),
    abnormal: obx(m, 1, '8'),
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
