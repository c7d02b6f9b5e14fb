'use strict';
/**
 * The setup page (view guardrail_setup + appserver/static/guardrail_setup.js) in headless Debian Chromium,
 * against a loopback stand-in for Splunk Web: the page at /en-US/app/gcp_guardrail/guardrail_setup, the
 * app's static files, and the REST proxy (/en-US/splunkd/__raw/...) with storage/passwords, the
 * guardrail_notify stanza of alert_actions.conf and apps/local. The stub checks Splunk Web's CSRF rule
 * (X-Splunk-Form-Key equal to the splunkweb_csrf_token_<port> cookie) and records every request.
 *
 * usage: node setup_page.js --fragment FILE --out REPORT.json [--screenshot FILE]
 * The fragment is the view's <html> panel (extracted by test_setup_page.py). Exit status 0 unless the
 * run itself broke; the Python test asserts on the report.
 */
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { chromium } = require('playwright-core');

const ROOT = path.resolve(__dirname, '../..');
const STATIC = path.join(ROOT, 'appserver', 'static');
const APP = 'gcp_guardrail';
const ACTION = 'guardrail_notify';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'];
const REST = '/en-US/splunkd/__raw';
const CONF_PATH = `${REST}/servicesNS/nobody/${APP}/configs/conf-alert_actions/${ACTION}`;
const PASSWORDS = `${REST}/servicesNS/nobody/${APP}/storage/passwords`;
const APP_PATH = `${REST}/services/apps/local/${APP}`;

function args() {
    const out = {};
    const argv = process.argv.slice(2);
    for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
    return out;
}

/** The [guardrail_notify] param.* defaults of default/alert_actions.conf, as splunkd would list them. */
function actionDefaults() {
    const text = fs.readFileSync(path.join(ROOT, 'default', 'alert_actions.conf'), 'utf8');
    const stanza = text.split(/^\[/m).find((s) => s.startsWith(`${ACTION}]`)) || '';
    const content = {};
    for (const line of stanza.split('\n')) {
        const found = line.match(/^(param\.[\w.]+)\s*=\s?(.*)$/);
        if (found) content[found[1]] = found[2].trim();
    }
    return content;
}

function page(fragment) {
    // Simple XML renders the html panel after the dashboard's scripts load: the fragment arrives late.
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GCP Guardrail Monitor setup</title>
<link rel="stylesheet" href="/en-US/static/app/${APP}/guardrail_setup.css"></head>
<body class="dashboard-body">
<template id="panel">${fragment}</template>
<script src="/en-US/static/app/${APP}/guardrail_setup.js"></script>
<script>setTimeout(function () {
  document.body.appendChild(document.getElementById('panel').content.cloneNode(true));
}, 400);</script>
</body></html>`;
}

function startStub(fragment, token) {
    const state = { passwords: {}, conf: actionDefaults(), configured: false, denyWrites: false, requests: [] };
    const server = http.createServer((req, res) => {
        const url = new URL(req.url, 'http://127.0.0.1');
        let body = '';
        req.on('data', (chunk) => { body += chunk; });
        req.on('end', () => {
            const cookies = Object.fromEntries((req.headers.cookie || '').split(';').map((c) => c.trim().split('=')));
            const fields = Object.fromEntries(new URLSearchParams(body));
            const record = { method: req.method, path: url.pathname, search: url.search, fields,
                formKey: req.headers['x-splunk-form-key'] === token && cookies.splunkweb_csrf_token_8000 === token,
                contentType: req.headers['content-type'] || '', status: 0 };
            state.requests.push(record);
            const send = (status, type, text, headers = {}) => {
                record.status = status;
                res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
                res.end(text);
            };
            const json = (status, value) => send(status, 'application/json', JSON.stringify(value));
            const error = (status, text) => json(status, { messages: [{ type: 'ERROR', text }] });

            if (url.pathname === `/en-US/app/${APP}/guardrail_setup`) {
                return send(200, 'text/html', page(fragment),
                    { 'set-cookie': `splunkweb_csrf_token_8000=${token}; Path=/; SameSite=Strict` });
            }
            const asset = url.pathname.match(new RegExp(`^/en-US/static/app/${APP}/([\\w.-]+)$`));
            if (asset && fs.existsSync(path.join(STATIC, asset[1]))) {
                const type = asset[1].endsWith('.js') ? 'application/javascript' : 'text/css';
                return send(200, type, fs.readFileSync(path.join(STATIC, asset[1])));
            }
            if (url.pathname === '/favicon.ico') return send(204, 'text/plain', '');
            if (!url.pathname.startsWith(`${REST}/`)) return error(404, 'not here');
            if (!record.formKey) return error(401, 'call not properly authenticated');
            if (url.searchParams.get('output_mode') !== 'json') return error(400, 'output_mode=json expected');

            if (url.pathname === CONF_PATH && req.method === 'GET') {
                return json(200, { entry: [{ name: ACTION, content: state.conf }] });
            }
            if (url.pathname === CONF_PATH && req.method === 'POST') {
                Object.assign(state.conf, fields);
                return json(200, { entry: [{ name: ACTION, content: state.conf }] });
            }
            if (state.denyWrites && req.method === 'POST') {
                return error(403, 'You (user=analyst) do not have permission to perform this operation '
                    + '(requires capability: edit_storage_passwords).');
            }
            if (url.pathname === PASSWORDS && req.method === 'POST') {
                if (!fields.name || !fields.password) return error(400, 'name and password are required');
                const id = `${fields.realm || ''}:${fields.name}:`;
                if (state.passwords[id] !== undefined) return error(409, `An object with name=${id} already exists`);
                state.passwords[id] = fields.password;
                return json(201, { entry: [{ name: id, content: { realm: fields.realm, username: fields.name } }] });
            }
            if (url.pathname.startsWith(`${PASSWORDS}/`) && req.method === 'POST') {
                const id = decodeURIComponent(url.pathname.slice(PASSWORDS.length + 1));
                if (state.passwords[id] === undefined) return error(404, `Could not find object id=${id}`);
                if (!fields.password) return error(400, 'password is required');
                state.passwords[id] = fields.password;
                return json(200, { entry: [{ name: id }] });
            }
            if (url.pathname === APP_PATH && req.method === 'POST') {
                state.configured = fields.configured === '1' || fields.configured === 'true';
                return json(200, { entry: [{ name: APP, content: { configured: state.configured } }] });
            }
            return error(404, 'not a stubbed endpoint');
        });
    });
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, state })));
}

async function main() {
    const opts = args();
    const fragment = fs.readFileSync(opts.fragment, 'utf8');
    const token = crypto.randomBytes(12).toString('hex');
    const { server, state } = await startStub(fragment, token);
    const base = `http://127.0.0.1:${server.address().port}`;
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    const report = { initial: null, steps: [], errors: [], console: [], passwords: null, conf: null, configured: null,
        requests: null };
    try {
        const context = await browser.newContext();
        const tab = await context.newPage();
        tab.on('pageerror', (err) => report.errors.push(String(err)));
        tab.on('console', (msg) => report.console.push(`${msg.type()}: ${msg.text()}`));
        await tab.goto(`${base}/en-US/app/${APP}/guardrail_setup`);
        await tab.waitForFunction(() => {
            const name = document.getElementById('guardrail-secret-name');
            return name && name.value;
        }, null, { timeout: 15000 });
        report.initial = await tab.evaluate(() => ({
            format: document.getElementById('guardrail-format').value,
            allowedHosts: document.getElementById('guardrail-allowed-hosts').value,
            secretName: document.getElementById('guardrail-secret-name').value,
        }));

        const step = async (name, values, button = '#guardrail-save') => {
            const before = state.requests.length;
            for (const [id, value] of Object.entries(values)) {
                const selector = `#${id}`;
                if (id === 'guardrail-format') await tab.selectOption(selector, value);
                else await tab.fill(selector, value);
            }
            await tab.evaluate(() => { document.getElementById('guardrail-status').textContent = ''; });
            await tab.click(button);
            await tab.waitForFunction(() => {
                const s = document.getElementById('guardrail-status');
                return s.textContent && s.textContent !== 'Saving...';
            }, null, { timeout: 15000 });
            const seen = await tab.evaluate(() => ({
                status: document.getElementById('guardrail-status').textContent,
                statusClass: document.getElementById('guardrail-status').className,
                webhook: document.getElementById('guardrail-webhook').value,
                token: document.getElementById('guardrail-token').value,
                allowedHosts: document.getElementById('guardrail-allowed-hosts').value,
                text: document.body.innerText,
                buttonsEnabled: !document.getElementById('guardrail-save').disabled,
            }));
            report.steps.push({ name, ...seen, requests: state.requests.slice(before) });
            if (opts.screenshot && name === 'store') await tab.screenshot({ path: opts.screenshot, fullPage: true });
        };

        await step('plain_http_refused', { 'guardrail-webhook': 'http://hooks.slack.com/services/T0/B0/plain' });
        await step('host_not_allowed', { 'guardrail-webhook': 'https://hooks.evil-example.net/services/x' });
        // URLs parsers read differently: the action refuses them when it sends, the page refuses them now
        await step('backslash_refused', { 'guardrail-webhook': 'https://localhost\\.x.webhook.office.com/hook' });
        await step('numeric_host_refused', { 'guardrail-webhook': 'https://2130706433/hook' });
        await step('store', { 'guardrail-webhook': 'https://hooks.slack.com/services/T0AAA/B0BBB/s3cretWebhookPath',
            'guardrail-format': 'slack' });
        await step('replace_with_token', { 'guardrail-webhook': 'https://soar.example-corp.com/hooks/guardrail',
            'guardrail-token': 'bearer-t0ken-value', 'guardrail-format': 'json',
            'guardrail-allowed-hosts': 'hooks.slack.com, *.example-corp.com' });
        await context.addCookies([{ name: 'splunkweb_csrf_token_8000', value: 'stale', url: base }]);
        await step('stale_csrf_token', { 'guardrail-webhook': 'https://hooks.slack.com/services/T0AAA/B0BBB/other' });
        await context.addCookies([{ name: 'splunkweb_csrf_token_8000', value: token, url: base }]);
        state.denyWrites = true;
        await step('not_an_admin', { 'guardrail-webhook': 'https://hooks.slack.com/services/T0AAA/B0BBB/other' });
        state.denyWrites = false;
        state.configured = false;
        await step('skip', {}, '#guardrail-skip');
    } finally {
        await browser.close();
        server.close();
    }
    report.passwords = state.passwords;
    report.conf = state.conf;
    report.configured = state.configured;
    report.requests = state.requests;
    fs.writeFileSync(opts.out, JSON.stringify(report, null, 1));
}

main().catch((err) => {
    process.stderr.write(`${err.stack || err}\n`);
    process.exit(1);
});
