// The login flow through a client generated from verifyd's own GET /openapi.json: the
// types come from openapi-typescript (run by generate_client.mjs), the requests from
// openapi-fetch, and tsc --strict refuses this file if a path, a field or a status it uses
// is missing from the document. Not for: covering every route (answers.mjs holds every
// answer the integration tests get against the document).
import createClient from 'openapi-fetch';
import type { paths } from './verifyd-api.mjs';

function expect(holds: boolean, what: string): void {
    if (!holds) throw new Error(`expected ${what}`);
}

export async function run(origin: string, key: string, log: (line: string) => void): Promise<void> {
    const to = '+14155552671';
    const bearer = createClient<paths>({ baseUrl: origin, headers: { Authorization: `Bearer ${key}` } });
    const apiKey = createClient<paths>({ baseUrl: origin, headers: { 'x-api-key': key } });

    const sent = await bearer.POST('/verify/send', { body: { to, channel: 'sms' } });
    expect(sent.response.status === 201 && sent.data !== undefined, `201 from send, got ${sent.response.status}`);
    const verification = sent.data!.data;
    expect(verification.status === 'pending' && verification.attempts_remaining === 5, 'a pending verification');
    log(`sent ${verification.id} to ${verification.to} (Bearer)`);

    const listed = await apiKey.GET('/messages', { params: { query: { to, limit: 1 } } });
    expect(listed.response.status === 200 && listed.data !== undefined, `200 from the listing, got ${listed.response.status}`);
    const message = listed.data!.data.messages[0];
    expect(message.verification_id === verification.id, 'the listing to show the message of this verification');
    const code = String(message.template.variables.code);
    expect(/^[0-9]{6}$/.test(code), `a six-digit sandbox code, got ${code}`);
    log(`read the code of ${message.id} (x-api-key)`);

    const wrong = code === '000000' ? '111111' : '000000';
    const missed = await bearer.POST('/verify/check', { body: { id: verification.id, code: wrong } });
    expect(missed.data?.data.verified === false && missed.data.data.attempts_remaining === 4, 'a wrong code to cost an attempt');
    log('a wrong code: not verified, 4 attempts left');

    const checked = await bearer.POST('/verify/check', { body: { to, code } });
    expect(checked.data?.data.verified === true && checked.data.data.status === 'approved', 'the right code to approve');
    log('the right code, checked by number: approved');

    const read = await apiKey.GET('/verify/{id}', { params: { path: { id: verification.id } } });
    expect(read.data?.data.status === 'approved' && read.data.data.delivery.channel === 'sms', 'the verification read as approved');
    log('read by id: approved');

    const again = await bearer.POST('/verify/check', { body: { id: verification.id, code } });
    expect(again.response.status === 404 && again.error?.error.code === 4040, `404 / 4040 once spent, got ${again.response.status}`);
    log('the spent verification checks as 404 / 4040, read as a typed error');
}
