// Validates an OpenRPC document with the official tooling, then dereferences
// every $ref in it. Usage: node validate.mjs <document.json>
// Exits 0 when the document is valid and every $ref resolves.
import { readFileSync } from "node:fs";
import { validateOpenRPCDocument, parseOpenRPCDocument } from "@open-rpc/schema-utils-js";

const path = process.argv[2];
const document = JSON.parse(readFileSync(path, "utf8"));

const validation = validateOpenRPCDocument(document);
if (validation !== true) {
  console.error("validateOpenRPCDocument rejected the document:");
  console.error(validation instanceof Error ? validation.message : JSON.stringify(validation, null, 2));
  process.exit(1);
}

try {
  const parsed = await parseOpenRPCDocument(JSON.stringify(document), { dereference: true });
  // Extensions (`x-subscription`) are not the tooling's to dereference:
  // their $refs are checked to resolve by the Rust test instead.
  const text = JSON.stringify(parsed, (key, value) => (key.startsWith("x-") ? undefined : value));
  if (text.includes('"$ref"')) {
    console.error("a $ref survived dereferencing");
    process.exit(1);
  }
} catch (err) {
  console.error("parseOpenRPCDocument failed:", err && err.message ? err.message : err);
  process.exit(1);
}
console.log("valid");
