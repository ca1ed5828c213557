// Sends FHIR inputs to tsunagi's [[source.fhir]] endpoint with fhir-kit-client (a client nobody
// here wrote). Usage: node fhirkit_send.mjs BASE_URL DATA.json
// DATA: {"resources": [...], "transaction": {Bundle}}: resources with an id are updated (PUT),
// others created (POST). Prints one JSON line: what the endpoint answered.
import fs from 'node:fs';
import { Client } from 'fhir-kit-client';

const [base, dataPath] = process.argv.slice(2);
const data = JSON.parse(fs.readFileSync(dataPath, 'utf8'));
const client = new Client({ baseUrl: base });
const cap = await client.capabilityStatement();
const out = { fhirVersion: cap.fhirVersion, saved: [] };
for (const r of data.resources) {
  const answer = r.id
    ? await client.update({ resourceType: r.resourceType, id: r.id, body: r })
    : await client.create({ resourceType: r.resourceType, body: r });
  out.saved.push(`${answer.resourceType}/${answer.id}`);
}
const tx = await client.transaction({ body: data.transaction });
out.transaction = [tx.type, ...tx.entry.map((e) => e.response.status)];
console.log(JSON.stringify(out));
