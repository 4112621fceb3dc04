// Generates the TypeScript client of the OpenRPC document at URL into
// ./generated/calculator with @open-rpc/generator:
//   node generate.mjs http://127.0.0.1:9000/openrpc.json
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import generator from "@open-rpc/generator";

const [url] = process.argv.slice(2);
if (!url) throw new Error("usage: node generate.mjs OPENRPC_URL");
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
rmSync(here("generated"), { recursive: true, force: true });
await (generator.default || generator)({
  openrpcDocument: url,
  outDir: here("generated"),
  components: [{
    type: "custom",
    name: "calculator",
    language: "typescript",
    customComponent: here("../../clients/typescript/quoted-names.cjs"),
    customType: "client",
    outPath: here("generated/calculator"),
  }],
});
console.log("generated: generated/calculator");
