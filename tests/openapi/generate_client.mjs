// Generates a typed client from a running verifyd's GET /openapi.json and runs the login
// flow of client_flow.mts through it: openapi-typescript writes the document's types,
// tsc --strict compiles the flow against them (a type error fails the run), then node
// runs it with openapi-fetch. Run by tests/integration/openapi_test.cpp, which starts
// verifyd and gives VERIFYD_URL and VERIFYD_KEY.
// Usage: node generate_client.mjs WORK_DIR
import { copyFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const work = process.argv[2];
const origin = process.env.VERIFYD_URL;
const key = process.env.VERIFYD_KEY;

const served = await fetch(`${origin}/openapi.json`);
if (served.status !== 200) throw new Error(`GET /openapi.json answered ${served.status}`);
// A field with a default (a send's channel, locale, sandbox) is one a caller may leave out.
const types = astToString(await openapiTS(await served.json(), { defaultNonNullable: false }));
writeFileSync(join(work, 'verifyd-api.d.mts'), types);
console.log(`generated ${types.split('\n').length} lines of types from ${origin}/openapi.json`);

copyFileSync(join(here, 'client_flow.mts'), join(work, 'client_flow.mts'));
symlinkSync(join(here, 'node_modules'), join(work, 'node_modules'));
const program = ts.createProgram([join(work, 'client_flow.mts')], {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    skipLibCheck: true,
    outDir: work,
});
const emitted = program.emit();
const diagnostics = ts.getPreEmitDiagnostics(program).concat(emitted.diagnostics);
if (diagnostics.length > 0) {
    console.error(ts.formatDiagnostics(diagnostics, {
        getCanonicalFileName: (name) => name,
        getCurrentDirectory: () => work,
        getNewLine: () => '\n',
    }));
    process.exit(1);
}
console.log('client_flow.mts compiles against the generated types (tsc --strict)');

const flow = await import(pathToFileURL(join(work, 'client_flow.mjs')).href);
await flow.run(origin, key, (line) => console.log(`ok: ${line}`));
