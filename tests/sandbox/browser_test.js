// The sandbox inbox page (GET /sandbox, §13) in Debian's chromium, headless, driven by
// puppeteer-core: a developer's whole use of it, by keyboard, on a phone-sized screen, in
// both colour schemes. Run by tests/integration/sandbox_browser_test.cpp, which starts
// verifyd and Redis and gives VERIFYD_URL, TEST_KEY, LIVE_KEY, CHROMIUM and SCREENSHOT.
// Each step prints what it proves; the first failure ends the run with status 1.
'use strict';
const assert = require('node:assert/strict');
const puppeteer = require('puppeteer-core');

const origin = process.env.VERIFYD_URL;
const testKey = process.env.TEST_KEY;
const liveKey = process.env.LIVE_KEY;

// The native API, as the developer's own test suite calls it.
async function api(method, path, body) {
    const response = await fetch(origin + path, {
        method,
        headers: { Authorization: `Bearer ${testKey}`, 'Content-Type': 'application/json' },
        body: body && JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
}

async function send(to) {
    const sent = await api('POST', '/verify/send', { to });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const read = await api('GET', `/verify/${sent.body.data.id}`);
    return { id: sent.body.data.id, code: read.body.data.template_variables.code };
}

// The message element of number `to`, once the page shows one within `ms`.
async function messageTo(page, to, ms = 10000) {
    const handle = await page.waitForFunction((number) => [...document.querySelectorAll('[data-testid="message"]')]
        .find((m) => m.querySelector('[data-testid="message-to"]').textContent === number), { timeout: ms }, to);
    return handle.asElement();
}

async function textOf(element, testid) {
    return element.$eval(`[data-testid="${testid}"]`, (e) => e.textContent);
}

async function waitForText(element, testid, expected, ms = 10000) {
    const deadline = Date.now() + ms;
    let text = '';
    while (Date.now() < deadline) {
        text = await textOf(element, testid);
        if (text.includes(expected)) return text;
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail(`${testid} says "${text}", not "${expected}"`);
}

async function errorText(page) {
    return page.$eval('[data-testid="error"]', (e) => (e.hidden ? '' : e.textContent));
}

async function connectWith(page, key) {
    await page.$eval('[data-testid="api-key"]', (e) => { e.value = ''; });
    await page.type('[data-testid="api-key"]', key);
    await page.click('[data-testid="connect"]');
}

const steps = [
    ['the page loads under its Content-Security-Policy, by keyboard: Tab, the key, Enter', async (s) => {
        const response = await s.page.goto(origin + '/sandbox');
        assert.equal(response.status(), 200);
        assert.match(response.headers()['content-security-policy'], /default-src 'none'/);
        await s.page.keyboard.press('Tab');
        assert.equal(await s.page.evaluate(() => document.activeElement.dataset.testid), 'api-key');
        await s.page.keyboard.type(testKey);
        await s.page.keyboard.press('Enter');
        await s.page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Connected'));
        assert.equal(await errorText(s.page), '');
    }],
    ['a sandbox send appears without a reload, with its number and its code as text', async (s) => {
        s.first = await send('+14155550101');
        const message = await messageTo(s.page, '+14155550101');
        assert.equal(await textOf(message, 'message-code'), s.first.code);
        assert.match(await textOf(message, 'verification-status'), /pending/);
        await waitForText(message, 'delivery-status', 'delivered');
    }],
    ['the copy button copies exactly the code', async (s) => {
        await s.browser.defaultBrowserContext().overridePermissions(origin, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);
        await s.page.bringToFront();
        const message = await messageTo(s.page, '+14155550101');
        await (await message.$('[data-testid="copy-code"]')).click();
        await s.page.waitForFunction(async (code) => (await navigator.clipboard.readText()) === code, {}, s.first.code);
    }],
    ['the verification\'s state moves on the page: a wrong code, then the right one', async (s) => {
        const wrong = s.first.code === '000000' ? '111111' : '000000';
        assert.equal((await api('POST', '/verify/check', { id: s.first.id, code: wrong })).status, 200);
        const message = await messageTo(s.page, '+14155550101');
        await waitForText(message, 'verification-status', '4 attempt(s) left');
        assert.equal((await api('POST', '/verify/check', { id: s.first.id, code: s.first.code })).status, 200);
        await waitForText(message, 'verification-status', 'approved');
    }],
    ['messages are newest first, and the filter shows one number\'s only', async (s) => {
        await send('+14155550102');
        await messageTo(s.page, '+14155550102');
        const order = await s.page.$$eval('[data-testid="message-to"]', (all) => all.map((e) => e.textContent));
        assert.deepEqual(order, ['+14155550102', '+14155550101']);
        await s.page.type('[data-testid="filter-to"]', '+14155550101');
        await s.page.keyboard.press('Enter');
        await s.page.waitForFunction(() => {
            const shown = [...document.querySelectorAll('[data-testid="message-to"]')].map((e) => e.textContent);
            return shown.length === 1 && shown[0] === '+14155550101';
        });
        await s.page.$eval('[data-testid="filter-to"]', (e) => { e.value = ''; e.dispatchEvent(new Event('change')); });
        await messageTo(s.page, '+14155550102');
    }],
    ['the key is only in sessionStorage: not in the URL, a cookie or localStorage; a reload keeps it', async (s) => {
        const stored = await s.page.evaluate(() => ({
            session: sessionStorage.getItem('verifyd-sandbox-key'),
            local: localStorage.length,
            cookie: document.cookie,
            url: location.href,
        }));
        assert.equal(stored.session, testKey);
        assert.equal(stored.local, 0);
        assert.equal(stored.cookie, '');
        assert.ok(!stored.url.includes(testKey));
        await s.page.reload();
        await messageTo(s.page, '+14155550102');
    }],
    ['on a 390 px phone nothing scrolls sideways', async (s) => {
        await s.page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });
        await messageTo(s.page, '+14155550101');
        const width = await s.page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 390, `the page is ${width} px wide`);
        await s.page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
    }],
    ['dark and light follow the system setting', async (s) => {
        const background = () => s.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        await s.page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
        const light = await background();
        await s.page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
        const dark = await background();
        assert.notEqual(light, dark);
        await s.page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
    }],
    ['a live key is refused on the page with a visible error, and shows nothing', async (s) => {
        await connectWith(s.page, liveKey);
        await s.page.waitForFunction(() => !document.querySelector('[data-testid="error"]').hidden);
        assert.match(await errorText(s.page), /live key/);
        assert.equal((await s.page.$$('[data-testid="message"]')).length, 0);
        assert.equal(await s.page.evaluate(() => sessionStorage.getItem('verifyd-sandbox-key')), null);
    }],
    ['a wrong key shows the API\'s error', async (s) => {
        await connectWith(s.page, 'sk_test_' + 'x'.repeat(40));
        await s.page.waitForFunction(() => !document.querySelector('[data-testid="error"]').hidden);
        assert.match(await errorText(s.page), /401\d/);
    }],
    ['the page asked nothing of any other origin and broke no rule of its policy', async (s) => {
        assert.deepEqual(s.elsewhere, []);
        assert.deepEqual(s.problems, []);
    }],
];

(async () => {
    const browser = await puppeteer.launch({
        executablePath: process.env.CHROMIUM,
        headless: true,
        // As root (CI machines) chromium runs only without its sandbox.
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    const page = await browser.newPage();
    const state = { browser, page, elsewhere: [], problems: [] };
    page.on('request', (request) => {
        if (!request.url().startsWith(origin + '/') && !request.url().startsWith('data:')) state.elsewhere.push(request.url());
    });
    // A refused policy or a script error shows as a console error; a failed API answer
    // (the wrong key's 401) is the page's business and shows on it.
    page.on('console', (message) => {
        if (message.type() === 'error' && !/status of 401/.test(message.text())) state.problems.push(message.text());
    });
    page.on('pageerror', (error) => state.problems.push(String(error)));
    page.on('response', (response) => {
        if (response.status() === 404) state.problems.push(`404 for ${response.url()}`);
    });
    let status = 0;
    for (const [name, step] of steps) {
        try {
            await step(state);
            console.log(`ok: ${name}`);
        } catch (error) {
            console.log(`FAILED: ${name}\n${error.stack || error}`);
            status = 1;
            break;
        }
    }
    await browser.close();
    process.exit(status);
})();
