// The official twilio npm SDK, unmodified, against verifyd's /v2 face (§11), the way a
// user points it at verifyd: a RequestClient of the SDK's own that sends each request to
// verifyd's origin instead of Twilio's. Run by tests/integration/twilio_sdk_test.cpp,
// which starts verifyd and Redis and gives VERIFYD_URL, ACCOUNT_SID and VERIFYD_KEY.
// Each step prints what it proves; the first failure ends the run with status 1.
'use strict';
const assert = require('node:assert/strict');
const twilio = require('twilio');
const RequestClient = require('twilio/lib/base/RequestClient');

class VerifydRequestClient extends RequestClient {
    constructor(origin) {
        super();
        this.origin = new URL(origin);
    }
    request(opts) {
        const uri = new URL(opts.uri);
        uri.protocol = this.origin.protocol;
        uri.host = this.origin.host;
        return super.request({ ...opts, uri: uri.toString() });
    }
}

const origin = process.env.VERIFYD_URL;
const accountSid = process.env.ACCOUNT_SID;
const key = process.env.VERIFYD_KEY;
const client = twilio(accountSid, key, { httpClient: new VerifydRequestClient(origin) });
const verify = client.verify.v2;

// The code of the newest sandbox message to `to`, read through verifyd's native API with
// the same key, as a test suite reads it.
async function sandboxCode(to) {
    const response = await fetch(`${origin}/messages?to=${encodeURIComponent(to)}`,
        { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(response.status, 200);
    const messages = (await response.json()).data.messages;
    assert.ok(messages.length > 0, `no message to ${to}`);
    return messages[0].template.variables.code;
}

function wrongCode(code) {
    return (code[0] === '9' ? '0' : String(Number(code[0]) + 1)) + code.slice(1);
}

// The RestException the SDK throws for `promise`, checked for Twilio's code and status.
async function refused(promise, code, status) {
    try {
        await promise;
    } catch (error) {
        assert.equal(error.constructor.name, 'RestException', String(error));
        assert.equal(error.code, code, error.message);
        assert.equal(error.status, status, error.message);
        assert.equal(error.moreInfo, `https://www.twilio.com/docs/errors/${code}`);
        return error;
    }
    assert.fail(`expected Twilio error ${code}`);
}

const steps = [
    ['a service is created with its FriendlyName and CodeLength, every field present', async (s) => {
        const service = await verify.services.create({ friendlyName: 'Acme Login', codeLength: 8 });
        assert.match(service.sid, /^VA[0-9a-f]{32}$/);
        assert.equal(service.accountSid, accountSid);
        assert.equal(service.friendlyName, 'Acme Login');
        assert.equal(service.codeLength, 8);
        assert.equal(service.lookupEnabled, false);
        assert.equal(service.ttsName, null);
        assert.deepEqual(service.totp, { issuer: null, time_step: null, code_length: null, skew: null });
        assert.ok(service.dateCreated instanceof Date && !isNaN(service.dateCreated));
        assert.equal(service.url, `${origin}/v2/Services/${service.sid}`);
        assert.equal(service.links.verifications, `${service.url}/Verifications`);
        s.service = service;
    }],
    ['a service is fetched by its sid', async (s) => {
        const fetched = await verify.services(s.service.sid).fetch();
        assert.equal(fetched.friendlyName, 'Acme Login');
        assert.equal(fetched.codeLength, 8);
    }],
    ['an update changes only the parameters it names', async (s) => {
        const updated = await verify.services(s.service.sid).update({ codeLength: 6, lookupEnabled: true });
        assert.equal(updated.friendlyName, 'Acme Login');
        assert.equal(updated.codeLength, 6);
        assert.equal(updated.lookupEnabled, true);
    }],
    ['the list pages through every service of the account, in the order they were created', async (s) => {
        const more = [];
        for (const name of ['Second', 'Third']) more.push(await verify.services.create({ friendlyName: name }));
        const listed = await verify.services.list({ pageSize: 2 });
        assert.deepEqual(listed.map((service) => service.sid), [s.service.sid, ...more.map((m) => m.sid)]);
        const page = await verify.services.page({ pageSize: 2 });
        assert.equal(page.instances.length, 2);
        const next = await page.nextPage();
        assert.equal(next.instances.length, 1);
        assert.equal(await next.nextPage(), undefined);
        s.more = more;
    }],
    ['a verification is sent in the service: pending, with every field the SDK reads', async (s) => {
        const sent = await verify.services(s.service.sid).verifications.create({ to: '+14155552671', channel: 'sms' });
        assert.match(sent.sid, /^VE[0-9a-f]{32}$/);
        assert.equal(sent.serviceSid, s.service.sid);
        assert.equal(sent.accountSid, accountSid);
        assert.equal(sent.to, '+14155552671');
        assert.equal(sent.channel, 'sms');
        assert.equal(sent.status, 'pending');
        assert.equal(sent.valid, false);
        assert.equal(sent.sendCodeAttempts.length, 1);
        assert.match(sent.sendCodeAttempts[0].attempt_sid, /^VL[0-9a-f]{32}$/);
        assert.ok(sent.dateCreated instanceof Date && !isNaN(sent.dateCreated));
        assert.equal(sent.url, `${origin}/v2/Services/${s.service.sid}/Verifications/${sent.sid}`);
        s.verification = sent;
        s.code = await sandboxCode('+14155552671');
        assert.equal(s.code.length, 6);
    }],
    ['a resend keeps the sid and adds an attempt', async (s) => {
        const again = await verify.services(s.service.sid).verifications.create({ to: '+14155552671', channel: 'sms' });
        assert.equal(again.sid, s.verification.sid);
        assert.equal(again.sendCodeAttempts.length, 2);
        s.code = await sandboxCode('+14155552671');
    }],
    ['the verification is fetched by its sid and by its number', async (s) => {
        const bySid = await verify.services(s.service.sid).verifications(s.verification.sid).fetch();
        assert.equal(bySid.status, 'pending');
        const byNumber = await verify.services(s.service.sid).verifications('+14155552671').fetch();
        assert.equal(byNumber.sid, s.verification.sid);
    }],
    ['a wrong code answers pending and not valid', async (s) => {
        const check = await verify.services(s.service.sid).verificationChecks.create({ to: '+14155552671', code: wrongCode(s.code) });
        assert.equal(check.status, 'pending');
        assert.equal(check.valid, false);
        assert.equal(check.sid, s.verification.sid);
    }],
    ['the right code by VerificationSid approves, and the approved verification is gone', async (s) => {
        const check = await verify.services(s.service.sid).verificationChecks.create({ verificationSid: s.verification.sid, code: s.code });
        assert.equal(check.status, 'approved');
        assert.equal(check.valid, true);
        assert.equal(check.to, '+14155552671');
        await refused(verify.services(s.service.sid).verifications(s.verification.sid).fetch(), 20404, 404);
        await refused(verify.services(s.service.sid).verificationChecks.create({ to: '+14155552671', code: s.code }), 20404, 404);
    }],
    ['a canceled verification is gone', async (s) => {
        const sent = await verify.services(s.service.sid).verifications.create({ to: '+14155552672', channel: 'sms' });
        const canceled = await verify.services(s.service.sid).verifications(sent.sid).update({ status: 'canceled' });
        assert.equal(canceled.status, 'canceled');
        await refused(verify.services(s.service.sid).verifications(sent.sid).fetch(), 20404, 404);
    }],
    ['five wrong codes answer 200, the sixth check is 60202', async (s) => {
        await verify.services(s.service.sid).verifications.create({ to: '+14155552673', channel: 'sms' });
        const wrong = wrongCode(await sandboxCode('+14155552673'));
        for (let i = 1; i <= 5; i++) {
            const check = await verify.services(s.service.sid).verificationChecks.create({ to: '+14155552673', code: wrong });
            assert.equal(check.valid, false);
            assert.equal(check.status, i < 5 ? 'pending' : 'max_attempts_reached');
        }
        await refused(verify.services(s.service.sid).verificationChecks.create({ to: '+14155552673', code: wrong }), 60202, 429);
    }],
    ['sends beyond the number\'s window are 60203', async (s) => {
        const send = () => verify.services(s.service.sid).verifications.create({ to: '+14155552674', channel: 'sms' });
        for (let i = 0; i < 3; i++) await send();
        await refused(send(), 60203, 429);
    }],
    ['unknown verification sids are 20404, a channel verifyd has not is 60223', async (s) => {
        const unknown = 'VE0123456789abcdef0123456789abcdef';
        await refused(verify.services(s.service.sid).verifications(unknown).fetch(), 20404, 404);
        await refused(verify.services(s.service.sid).verificationChecks.create({ verificationSid: unknown, code: '123456' }), 20404, 404);
        const call = await refused(verify.services(s.service.sid).verifications.create({ to: '+14155552675', channel: 'call' }), 60223, 400);
        assert.match(call.message, /Channel/);
        const bad = await refused(verify.services(s.service.sid).verifications.create({ to: '4155552675', channel: 'sms' }), 60200, 400);
        assert.match(bad.message, /To/i);
    }],
    ['a deleted service is gone: 20404', async (s) => {
        assert.equal(await verify.services(s.more[1].sid).remove(), true);
        await refused(verify.services(s.more[1].sid).fetch(), 20404, 404);
        await refused(verify.services(s.more[1].sid).remove(), 20404, 404);
    }],
    ['an unknown service sid is 20404', async () => {
        await refused(verify.services('VA0123456789abcdef0123456789abcdef').fetch(), 20404, 404);
    }],
    ['a service without FriendlyName or with a CodeLength out of range is 60200 naming it', async () => {
        const missing = await refused(verify.services.create({ codeLength: 6, friendlyName: '' }), 60200, 400);
        assert.match(missing.message, /FriendlyName/);
        const length = await refused(verify.services.create({ friendlyName: 'x', codeLength: 11 }), 60200, 400);
        assert.match(length.message, /CodeLength/);
    }],
    ['a wrong key, or a key with another account SID, is 20003 and says no more', async (s) => {
        const wrongKey = twilio(accountSid, 'sk_test_wrong', { httpClient: new VerifydRequestClient(origin) });
        const error = await refused(wrongKey.verify.v2.services(s.service.sid).fetch(), 20003, 401);
        assert.equal(error.message, 'Authenticate');
        const otherAccount = twilio('AC' + '0'.repeat(32), key, { httpClient: new VerifydRequestClient(origin) });
        await refused(otherAccount.verify.v2.services(s.service.sid).fetch(), 20003, 401);
    }],
];

(async () => {
    const state = {};
    for (const [name, step] of steps) {
        try {
            await step(state);
            console.log(`ok: ${name}`);
        } catch (error) {
            console.log(`FAILED: ${name}\n${error.stack || error}`);
            process.exit(1);
        }
    }
})();
