// docs/openapi.json is a valid OpenAPI 3.1 document: checked against the OpenAPI
// Initiative's JSON Schema for 3.1 by @seriousme/openapi-schema-validator, chosen because
// it is maintained, validates 3.1 (and 3.0, 3.2) documents with that official schema
// through ajv, and is tested on the 2,000 real APIs of APIs.guru. Then what a schema
// cannot say: every local $ref resolves, every operation has an operationId of its own, and
// every native data object is closed (additionalProperties: false), so that a field the
// code adds without the document fails the every-answer test (answers.mjs).
// Usage: node validate_document.mjs DOCUMENT
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';

const path = process.argv[2];
const document = JSON.parse(readFileSync(path, 'utf8'));
const problems = [];

const validator = new Validator();
const result = await validator.validate(document);
if (!result.valid) problems.push(...result.errors.map((e) => `schema: ${JSON.stringify(e)}`));
if (validator.version !== '3.1') problems.push(`version ${validator.version}, expected 3.1`);

function resolve(ref) {
    if (!ref.startsWith('#/')) return undefined;
    return ref.slice(2).split('/').reduce((node, part) =>
        node === undefined ? undefined : node[part.replace(/~1/g, '/').replace(/~0/g, '~')], document);
}
const operationIds = new Set();
(function walk(node, where) {
    if (Array.isArray(node)) return node.forEach((item, i) => walk(item, `${where}/${i}`));
    if (node === null || typeof node !== 'object') return;
    if (typeof node.$ref === 'string' && resolve(node.$ref) === undefined)
        problems.push(`${where}: $ref ${node.$ref} resolves to nothing`);
    for (const [key, value] of Object.entries(node)) walk(value, `${where}/${key}`);
})(document, '#');

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
for (const [group, items] of [['paths', document.paths], ['webhooks', document.webhooks]]) {
    for (const [name, item] of Object.entries(items)) {
        for (const method of methods.filter((m) => item[m])) {
            const id = item[method].operationId;
            if (!id) problems.push(`${group} ${name} ${method}: no operationId`);
            else if (operationIds.has(id)) problems.push(`operationId ${id} is used twice`);
            operationIds.add(id);
        }
    }
}

// Every object schema among the components that lists its properties is closed, except
// the request bodies whose unknown fields verifyd ignores, as the contract says (Twilio's
// forms and the providers' receipts).
const openOnPurpose = new Set(['SentReceipt', 'DeliveryReceipt', 'TwilioServiceForm',
    'TwilioVerificationForm', 'TwilioVerificationUpdateForm', 'TwilioVerificationCheckForm']);
(function closed(node, where) {
    if (Array.isArray(node)) return node.forEach((item, i) => closed(item, `${where}/${i}`));
    if (node === null || typeof node !== 'object') return;
    if (node.properties && node.additionalProperties !== false)
        problems.push(`${where}: an object schema with properties is not closed`);
    for (const [key, value] of Object.entries(node)) closed(value, `${where}/${key}`);
})(Object.fromEntries(Object.entries(document.components.schemas)
    .filter(([name]) => !openOnPurpose.has(name))), '#/components/schemas');

if (problems.length > 0) {
    console.error(`${path} is not a valid OpenAPI 3.1 document of verifyd:\n  ${problems.join('\n  ')}`);
    process.exit(1);
}
console.log(`${path}: valid OpenAPI ${document.openapi}, ${Object.keys(document.paths).length} paths, ` +
    `${operationIds.size} operations, every data object closed`);
