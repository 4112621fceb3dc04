// A component for @open-rpc/generator: its own TypeScript client, for
// services whose method names are not TypeScript identifiers.
//
// The generator's client component writes each method as a class member
// named after it, so `math.divide` becomes `public math.divide: ...`, which
// does not compile (open-rpc/generator#619, still open in 1.22.3). No OpenRPC
// document can avoid it short of renaming the method on the wire. This
// component renders the generator's own client template and quotes such
// member names: `public "math.divide": ...`, called as
// `client["math.divide"](1, 4)`. Everything else (package.json, types,
// transports, validation) is the generator's own component, untouched.
//
// Use it with a generator config (open-rpc-generator generate -c FILE):
//   { "openrpcDocument": "http://127.0.0.1:9000/openrpc.json",
//     "outDir": "./generated",
//     "components": [{ "type": "custom", "name": "calculator", "language": "typescript",
//                      "customComponent": "/path/to/quoted-names.cjs", "customType": "client" }] }
"use strict";

// The generator running this component: the one installed where it runs.
const { defaultClientComponent } = require(require.resolve("@open-rpc/generator/build/components", {
  paths: [process.cwd(), __dirname],
}));

const official = defaultClientComponent.hooks;
const template = official.templateFiles.typescript[0].template;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
// The template's one line per method: `  public <name>: <Type> = (...params) => {`.
const MEMBER = /^(  public )(\S+)(: \S+ = \(\.\.\.params\) => \{)$/gm;

function quoteMemberNames(source) {
  return source.replace(MEMBER, (line, start, name, rest) =>
    IDENTIFIER.test(name) ? line : `${start}${JSON.stringify(name)}${rest}`);
}

module.exports = {
  hooks: {
    ...official,
    templateFiles: {
      typescript: [{ path: "src/index.ts", template: (data) => quoteMemberNames(template(data)) }],
    },
  },
  staticPath: defaultClientComponent.staticPath,
};
