// interop.cjs: the independent side of the hl7 plugin's tests (ctest
// hl7_interop, tests/test_hl7.c): node-hl7-client builds ADT messages with its
// own builder, sends them to vigil's MLLP listener over loopback, one at a
// time, and parses each ACK vigil answers with its own parser.
//
//   node interop.cjs NODE_MODULES send PORT MESSAGES_JSON
//
// MESSAGES_JSON is a list of messages: {"header": {msh_9_1, msh_9_2, msh_10,
// ...}, "fields": {"MSH.3": "HIS", ...}, "segments": [["PID", {"3.1": ...}],
// ...]} built with the builder, or {"raw": "MSH|..."} sent as written.
// Prints one JSON line per ACK: {"msh9", "msh9_2", "msa1", "msa2", "msa3", "err2",
// "err3"} as node-hl7-client parsed them, then exits 0; exits 1 when an ACK
// does not come within 10 s.
'use strict';
const path = require('path');

const [nodeModules, mode, port, messagesJson] = process.argv.slice(2);
const { Client, Message } = require(path.join(nodeModules, 'node-hl7-client'));

function build(spec) {
  if (spec.raw !== undefined) return new Message({ text: spec.raw });
  const m = new Message({ messageHeader: spec.header });
  for (const [k, v] of Object.entries(spec.fields || {})) m.set(k, v);
  for (const [name, fields] of spec.segments || []) {
    const s = m.addSegment(name);
    for (const [k, v] of Object.entries(fields)) s.set(k, v);
  }
  return m;
}

function field(msg, p) {
  try {
    return msg.get(p).toString();
  } catch (e) {
    return null;
  }
}

async function send() {
  const specs = JSON.parse(messagesJson);
  const client = new Client({ host: '127.0.0.1' });
  const waiting = [];
  const conn = client.createConnection({ port: Number(port), waitAck: true, maxAttempts: 1 }, async (res) => {
    const ack = res.getMessage();
    const line = {
      msh9: field(ack, 'MSH.9.1'),
      msh9_2: field(ack, 'MSH.9.2'),
      msa1: field(ack, 'MSA.1'),
      msa2: field(ack, 'MSA.2'),
      msa3: field(ack, 'MSA.3'),
      err2: field(ack, 'ERR.2'),
      err3: field(ack, 'ERR.3.1'),
    };
    const w = waiting.shift();
    if (w) w(line);
  });
  await new Promise((resolve, reject) => {
    conn.on('connect', resolve);
    conn.on('client.error', reject);
    setTimeout(() => reject(new Error('no connection')), 10000);
  });
  for (const spec of specs) {
    const got = new Promise((resolve, reject) => {
      waiting.push(resolve);
      setTimeout(() => reject(new Error('no ACK within 10 s')), 10000);
    });
    await conn.sendMessage(build(spec));
    console.log(JSON.stringify(await got));
  }
  await conn.close();
  client.closeAll();
}

if (mode !== 'send') {
  console.error('usage: interop.cjs NODE_MODULES send PORT MESSAGES_JSON');
  process.exit(2);
}
send().then(
  () => process.exit(0),
  (e) => {
    console.error(`interop.cjs: ${e.message}`);
    process.exit(1);
  },
);
