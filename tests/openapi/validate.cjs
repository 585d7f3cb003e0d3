// validate.cjs: docs/openapi.json is a valid OpenAPI 3.0 document (swagger-parser
// checks it against the specification's schema and resolves every $ref), and
// every operation that needs a signed-in user says what happens without one.
//   node validate.cjs <node_modules folder> docs/openapi.json
"use strict";
const path = require("path");
const [modules, file] = process.argv.slice(2);
const SwaggerParser = require(path.join(path.resolve(modules), "node_modules", "@apidevtools", "swagger-parser"));

(async () => {
  const api = await SwaggerParser.validate(path.resolve(file));
  const problems = [];
  for (const [route, item] of Object.entries(api.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const security = op.security || api.security || [];
      if (security.length > 0 && !op.responses["401"]) problems.push(`${method.toUpperCase()} ${route}: no 401`);
    }
  }
  if (problems.length) {
    console.error(`${file}:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`${file}: valid OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths`);
})().catch((e) => {
  console.error(`${file}: ${e.message}`);
  process.exit(1);
});
