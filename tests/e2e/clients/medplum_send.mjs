// Sends HL7 v2 messages with @medplum/hl7's Hl7Client (a client nobody in this project wrote).
// Usage: node medplum_send.mjs PORT FILE   (FILE: one message per line, segments joined by \r)
// Sends every message waiting for its ACK, then all of them again on a new connection (as after
// lost ACKs), and prints "MSA-1 MSA-2" for each ACK, in the order the messages were sent.
import { readFileSync } from 'node:fs';
import { Hl7Message } from '@medplum/core';
import { Hl7Client } from '@medplum/hl7';

const [port, file] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
// Not pipelined: Hl7Connection parses one frame per socket 'data' event, so two ACKs arriving in
// one TCP segment would be read as one message.
const connect = () => new Hl7Client({ host: '127.0.0.1', port: Number(port) });
const show = (ack) => {
  const msa = ack.getSegment('MSA');
  return `${msa.getField(1).toString()} ${msa.getField(2).toString()}`;
};
for (let round = 0; round < 2; round++) {
  const client = connect();
  try {
    for (const line of lines) {
      console.log(show(await client.sendAndWait(Hl7Message.parse(line), { timeoutMs: 10000 })));
    }
  } finally {
    await client.close();
  }
}
