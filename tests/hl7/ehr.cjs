// ehr.cjs: an EHR for the hl7 plugin's results-out test (tests/test_hl7.c
// ehr_out, ctest hl7_ehr_interop): node-hl7-server listens for MLLP on
// 127.0.0.1:PORT, parses each ORU^R01 vigil sends with its own parser,
// appends what it read to OUT as one JSON line, and answers with its own ACK:
// AA; AE the first time it reads a message (a control id) for a patient whose
// PID-3.1 starts with AE-, and every time for one whose starts with NAK- (an
// EHR that asks for it again for ever); AR, 'no such encounter', for one
// whose starts with AR-.
//
// node-hl7-server 2.5.0 keeps every message a connection sent in its buffer
// (inbound.js never empties loadedMessage), so each new message comes to the
// handler with all the earlier ones of its connection before it, as a batch.
// The EHR answers (and writes down) only what is new on the connection: per
// socket, how many messages its earlier data events carried.
//
//   node ehr.cjs NODE_MODULES PORT OUT
'use strict';
const fs = require('fs');
const path = require('path');

const [nodeModules, port, out] = process.argv.slice(2);
const { Server } = require(path.join(nodeModules, 'node-hl7-server'));
const answeredAe = new Set();
const perSocket = new WeakMap(); // socket -> { handled, idx }

function state(socket) {
  if (!perSocket.has(socket)) perSocket.set(socket, { handled: 0, idx: 0 });
  return perSocket.get(socket);
}

function field(msg, p) {
  try {
    return msg.get(p).toString();
  } catch (e) {
    return null;
  }
}

// PATH of the (i + 1)th segment NAME, or null.
function nth(msg, name, i, p) {
  try {
    return msg.get(name).get(i).get(p).toString();
  } catch (e) {
    return null;
  }
}

const server = new Server({ bindAddress: '127.0.0.1' });
const inbound = server.createInbound({ port: Number(port) }, async (req, res) => {
  const st = state(res._socket);
  if (++st.idx <= st.handled) return; // one of the connection's earlier messages, again
  const m = req.getMessage();
  const control = field(m, 'MSH.10');
  const line = {
    control,
    type: `${field(m, 'MSH.9.1')}^${field(m, 'MSH.9.2')}^${field(m, 'MSH.9.3')}`,
    time: field(m, 'MSH.7'),
    version: field(m, 'MSH.12'),
    to: field(m, 'MSH.5'),
    accept_ack: field(m, 'MSH.15'),
    patient: field(m, 'PID.3.1'),
    authority: field(m, 'PID.3.4'),
    id_type: field(m, 'PID.3.5'),
    family: field(m, 'PID.5.1'),
    given: field(m, 'PID.5.2'),
    birth_date: field(m, 'PID.7'),
    sex: field(m, 'PID.8'),
    class: field(m, 'PV1.2'),
    location: field(m, 'PV1.3.1'),
    visit: field(m, 'PV1.19.1'),
    // every OBR and OBX read by the parser, in order
    orders: [],
    obx: [],
  };
  for (let i = 0; i < 16; i++) {
    const item = nth(m, 'OBR', i, '4.1');
    if (item === null || item === '') break;
    line.orders.push({
      item,
      title: nth(m, 'OBR', i, '4.2'),
      filler: nth(m, 'OBR', i, '3.1'),
      observed: nth(m, 'OBR', i, '7'),
      status: nth(m, 'OBR', i, '25'),
    });
  }
  for (let i = 0; i < 64; i++) {
    const code = nth(m, 'OBX', i, '3.1');
    if (code === null || code === '') break;
    line.obx.push({
      type: nth(m, 'OBX', i, '2'),
      code,
      title: nth(m, 'OBX', i, '3.2'),
      system: nth(m, 'OBX', i, '3.3'),
      value: nth(m, 'OBX', i, '5'),
      unit: nth(m, 'OBX', i, '6.1'),
      status: nth(m, 'OBX', i, '11'),
      observed: nth(m, 'OBX', i, '14'),
    });
  }
  // flat keys the test matches on (manager_line): the first OBX's and OBR's
  line.item = line.orders.length ? line.orders[0].item : null;
  line.status = line.orders.length ? line.orders[0].status : null;
  line.code = line.obx.length ? line.obx[0].code : null;
  line.value = line.obx.length ? line.obx[0].value : null;
  line.unit = line.obx.length ? line.obx[0].unit : null;
  const who = line.patient || '';
  const ar = who.startsWith('AR-');
  const ae = !ar && ((who.startsWith('AE-') && !answeredAe.has(control)) || who.startsWith('NAK-'));
  if (ae) answeredAe.add(control);
  line.answered = ar ? 'AR' : ae ? 'AE' : 'AA';
  fs.appendFileSync(out, JSON.stringify(line) + '\n');
  await res.sendResponse(line.answered);
});
// after the server's own 'data' listener: what this event carried is handled
inbound.on('client.connect', (socket) => {
  socket.on('data', () => {
    const st = state(socket);
    if (st.idx > 0) st.handled = st.idx;
    st.idx = 0;
  });
});
inbound.on('listen', () => fs.appendFileSync(out, JSON.stringify({ listening: Number(port) }) + '\n'));
process.on('SIGTERM', async () => {
  await inbound.close();
  process.exit(0);
});
