// Every answer the integration tests received matches docs/openapi.json: the records that
// tests/support/http_client.cpp appended to DIR (VERIFYD_TEST_EXCHANGES) are each held
// against the response the document gives for that path, method and status (else its
// `4XX`-style range, else the operation's `default`), body and Content-Type, by ajv under
// JSON Schema draft 2020-12 (the dialect of OpenAPI 3.1) with its formats. An answer whose
// path, method or status the document lacks fails too. Besides the operations, the
// document describes two kinds of answers that no operation owns, and only they are
// looked up elsewhere: a path no route takes, a method its path does not take, and a 404
// "No route" from a listener that does not serve the path (x-verifyd-unrouted); and the
// refusals of requests whose bytes are not one request verifyd can read, in the error
// envelope, or Pistache's own plain-text 408, the only answer without a Content-Type
// (x-verifyd-http-layer). Requests that ended without an answer (the connection closed
// first) were never recorded: there is nothing to describe. The requests verifyd made to
// the tests' stand-ins are held against the document's webhooks.
// Usage: node answers.mjs DOCUMENT DIR
import { readFileSync, readdirSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [documentPath, dir] = process.argv.slice(2);
const document = JSON.parse(readFileSync(documentPath, 'utf8'));
const base = 'https://verifyd.invalid/openapi.json';
// Not strict: the document is OpenAPI around schemas, with keywords JSON Schema lacks.
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(document, base, undefined, false);

const escape = (part) => part.replace(/~/g, '~0').replace(/\//g, '~1');
const pointer = (parts) => '#/' + parts.map((part) => encodeURIComponent(escape(part))).join('/');
function resolve(node) {
    while (node && typeof node.$ref === 'string') {
        node = node.$ref.slice(2).split('/')
            .reduce((at, part) => at[part.replace(/~1/g, '/').replace(/~0/g, '~')], document);
    }
    return node;
}

// Literal paths before templated ones, as verifyd's router and OpenAPI both match them.
const templates = Object.keys(document.paths).map((template) => ({
    template,
    parts: template.split('/'),
    literal: !template.includes('{'),
})).sort((a, b) => Number(b.literal) - Number(a.literal));
function matchPath(path) {
    const parts = path.split('/');
    return templates.find((t) => t.parts.length === parts.length && t.parts.every((p, i) =>
        p.startsWith('{') ? parts[i] !== '' : p === parts[i]));
}

function schemaErrors(validate) {
    return [...new Set(validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}` +
        (e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : '')))].join('; ');
}

const validators = new Map();
function validatorFor(where) {
    if (!validators.has(where)) validators.set(where, ajv.compile({ $ref: base + where }));
    return validators.get(where);
}

// Under /v2 the unrouted answers are Twilio's.
const faceOf = (path) => (path === '/v2' || path.startsWith('/v2/') ? '/v2' : 'native');

// The response object and the JSON pointer of it, or why there is none.
// HEAD is answered as GET (the document lists GET), without the body.
function responseFor(exchange) {
    const method = exchange.method === 'HEAD' ? 'get' : exchange.method.toLowerCase();
    const found = matchPath(exchange.path);
    const status = String(exchange.status);
    if (!found || !document.paths[found.template][method]) {
        const face = faceOf(exchange.path);
        const unrouted = document['x-verifyd-unrouted'][face];
        const what = found ? `${exchange.method} ${found.template} (not a method of it)` : `${exchange.method} (no route)`;
        if (!unrouted[status]) return { what, problem: `status ${status} is not an unrouted answer` };
        return { what, response: unrouted[status], where: ['x-verifyd-unrouted', face, status] };
    }
    const what = `${exchange.method} ${found.template}`;
    const responses = document.paths[found.template][method].responses;
    const key = [status, `${status[0]}XX`, 'default'].find((k) => responses[k]);
    if (!key) return { what, problem: `status ${status} is not documented` };
    return { what, response: responses[key], where: ['paths', found.template, method, 'responses', key] };
}

// The 404 a listener answers for a path it does not serve, whichever path it is.
function notServed(exchange, found) {
    return { what: found.what, response: document['x-verifyd-unrouted'][faceOf(exchange.path)]['404'] };
}

// A refusal of bytes verifyd could not read as a request, on whatever path they named:
// the envelope, or without a Content-Type Pistache's own text.
function httpLayerProblem(exchange) {
    const response = document['x-verifyd-http-layer'].responses[String(exchange.status)];
    const mediaType = exchange.content_type === '' ? 'text/plain' : exchange.content_type.split(';')[0];
    if (!response || !response.content[mediaType]) return 'not an answer of the HTTP layer';
    const where = ['x-verifyd-http-layer', 'responses', String(exchange.status), 'content', mediaType, 'schema'];
    const validate = validatorFor(pointer(where));
    let body = exchange.body;
    if (mediaType === 'application/json') {
        try {
            body = JSON.parse(exchange.body);
        } catch {
            return 'the HTTP layer\'s answer is not JSON';
        }
    }
    return validate(body) ? null : `the HTTP layer's ${exchange.status} ${ajv.errorsText(validate.errors)}`;
}

// A request verifyd made (an event, the webhook provider's message) against the
// document's webhooks: the provider's message by its type, any other an event.
function webhookProblem(request) {
    let body;
    try {
        body = JSON.parse(request.body);
    } catch {
        return ['webhook', 'the body is not JSON'];
    }
    const name = body.type === 'verification.message' ? 'deliveryMessage' : 'verificationEvent';
    const what = `webhook ${name}`;
    if (request.method !== 'POST') return [what, `sent as ${request.method}, not POST`];
    const validate = validatorFor(pointer(['webhooks', name, 'post', 'requestBody', 'content', 'application/json', 'schema']));
    return [what, validate(body) ? null : schemaErrors(validate)];
}

function problemWith(exchange) {
    if (exchange.request) return webhookProblem(exchange);
    const [what, problem] = problemWithRoute(exchange);
    if (problem && httpLayerProblem(exchange) === null) return [`${exchange.method} (HTTP layer)`, null];
    return [what, problem];
}

function problemWithRoute(exchange) {
    let found = responseFor(exchange);
    if (found.problem && exchange.status === 404) found = notServed(exchange, found);
    if (found.problem) return [found.what, found.problem];
    let response = found.response;
    let where = found.where;
    if (response.$ref) {
        where = response.$ref.slice(2).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
        response = resolve(response);
    }
    if (!response.content || exchange.method === 'HEAD') {
        return [found.what, exchange.body === '' ? null : `status ${exchange.status} has no body in the document, the answer has ${exchange.body.length} bytes`];
    }
    const mediaType = exchange.content_type.split(';')[0].trim().toLowerCase();
    if (!response.content[mediaType])
        return [found.what, `status ${exchange.status} is not documented as ${mediaType || 'no Content-Type'}`];
    let body = exchange.body;
    if (mediaType === 'application/json') {
        try {
            body = JSON.parse(exchange.body);
        } catch {
            return [found.what, `status ${exchange.status}: the body is not JSON`];
        }
    }
    const validate = validatorFor(pointer([...where, 'content', mediaType, 'schema']));
    if (validate(body)) return [found.what, null];
    return [found.what, `status ${exchange.status}: ${schemaErrors(validate)}`];
}

const files = readdirSync(dir).filter((name) => name.endsWith('.jsonl'));
const counts = new Map();
const mismatches = new Map();
let total = 0;
for (const file of files) {
    for (const line of readFileSync(`${dir}/${file}`, 'utf8').split('\n')) {
        if (line === '') continue;
        const exchange = JSON.parse(line);
        total += 1;
        const [what, problem] = problemWith(exchange);
        counts.set(what, (counts.get(what) || 0) + 1);
        if (!problem) continue;
        const key = `${what}: ${problem}`;
        const seen = mismatches.get(key) || { count: 0, example: exchange };
        seen.count += 1;
        mismatches.set(key, seen);
    }
}

if (total === 0) {
    console.error(`no answers recorded in ${dir}: run this with the integration tests`);
    process.exit(1);
}
const operations = [...counts.entries()].sort((a, b) => a[0].localeCompare(b[0]));
console.log(`${total} answers and requests of verifyd from ${files.length} test processes, by operation:`);
for (const [what, count] of operations) console.log(`  ${String(count).padStart(6)}  ${what}`);
const methods = ['get', 'put', 'post', 'delete', 'patch'];
const unanswered = Object.entries(document.paths).flatMap(([template, item]) => methods
    .filter((m) => item[m] && !counts.has(`${m.toUpperCase()} ${template}`))
    .map((m) => `${m.toUpperCase()} ${template}`));
if (unanswered.length > 0) console.log(`operations no test exercised here: ${unanswered.join(', ')}`);
if (mismatches.size > 0) {
    console.error(`\n${mismatches.size} kinds of answers do not match ${documentPath}:`);
    for (const [key, { count, example }] of mismatches) {
        const outcome = example.request ? '(a request of verifyd)' : `→ ${example.status} ${example.content_type}`;
        console.error(`- ${key} (${count}×), e.g. ${example.method} ${example.path} ${outcome}: ${example.body.slice(0, 400)}`);
    }
    process.exit(1);
}
console.log(`every answer matches ${documentPath}`);
