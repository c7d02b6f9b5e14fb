'use strict';
/**
 * Loopback HTTP server for the browser ring: serves a view like Splunk Web (/en-US/app/<app>/<view>),
 * the bundled renderer, and the two splunkd REST answers the Enterprise time picker asks for.
 * Every request is recorded so a test can see unexpected calls.
 */
const fs = require('fs');
const http = require('http');

const APP = 'gcp_guardrail';

const TIME_PRESETS = [
    ['Last 15 minutes', '-15m', 'now', 10], ['Last 60 minutes', '-60m@m', 'now', 20],
    ['Last 4 hours', '-4h@m', 'now', 30], ['Last 24 hours', '-24h@h', 'now', 40],
    ['Last 7 days', '-7d@h', 'now', 50], ['Last 30 days', '-30d@d', 'now', 60], ['All time', '', '', 1000],
].map(([label, earliest, latest, order]) => ({
    name: label.toLowerCase().replace(/\W+/g, '_'),
    content: { label, earliest_time: earliest, latest_time: latest, order, disabled: false, is_sub_menu: false },
}));

function page(viewName, bundleUrl, view, fixtures) {
    const config = {
        SPLUNKD_PATH: '/splunkd/__raw', MRSPARKLE_ROOT_PATH: '', MRSPARKLE_PORT_NUMBER: '8000', LOCALE: 'en-US',
        APP, USERNAME: 'analyst', FULLNAME: 'Analyst', APP_BUILD: '1', BUILD_NUMBER: '1', BUILD_PUSH_NUMBER: '1',
        SERVER_ZONEINFO: '', SPLUNK_UI_THEME: view.theme, VERSION_LABEL: '9.2.0', SPLUNKD_FREE_LICENSE: false,
    };
    const json = (value) => JSON.stringify(value).replace(/</g, '\\u003c');
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${viewName}</title>
<style>html, body, #root { margin: 0; height: 100%; }</style></head>
<body><div id="root"></div>
<script>window.$C = ${json(config)}; window.__VIEW__ = ${json(view)}; window.__FIXTURES__ = ${json(fixtures)};</script>
<script src="${bundleUrl}"></script>
</body></html>`;
}

/**
 * @param {object} options
 * @param {string} options.bundle path of the esbuild bundle
 * @param {(name: string) => {definition: object, theme: string}|null} options.loadView
 * @param {(name: string) => object} options.loadFixtures
 */
function startServer({ bundle, loadView, loadFixtures }) {
    const requests = [];
    const server = http.createServer((req, res) => {
        const url = new URL(req.url, 'http://127.0.0.1');
        const record = { method: req.method, path: url.pathname, search: url.search, status: 200 };
        requests.push(record);
        const send = (status, type, body) => {
            record.status = status;
            res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
            res.end(body);
        };
        const viewMatch = url.pathname.match(new RegExp(`^/[a-zA-Z-]+/app/${APP}/([\\w-]+)$`));
        if (viewMatch) {
            const view = loadView(viewMatch[1]);
            if (!view) return send(404, 'text/plain', `no view ${viewMatch[1]}`);
            return send(200, 'text/html', page(viewMatch[1], '/static/bundle.js', view, loadFixtures(viewMatch[1])));
        }
        if (url.pathname === '/static/bundle.js') {
            res.writeHead(200, { 'content-type': 'application/javascript', 'cache-control': 'max-age=3600' });
            return fs.createReadStream(bundle).pipe(res);
        }
        if (/^\/splunkd\/__raw\/services(NS\/[^/]+\/[^/]+)?\/data\/ui\/times$/.test(url.pathname)) {
            return send(200, 'application/json', JSON.stringify({ entry: TIME_PRESETS }));
        }
        if (url.pathname === '/splunkd/__raw/services/search/timeparser') {
            const times = url.searchParams.getAll('time');
            const now = new Date().toISOString();
            return send(200, 'application/json', JSON.stringify(Object.fromEntries(times.map((t) => [t, now]))));
        }
        if (url.pathname === '/splunkd/__raw/services/authentication/current-context') {
            const content = { username: 'analyst', realname: 'Analyst', roles: ['user'], capabilities: [] };
            return send(200, 'application/json', JSON.stringify({ entry: [{ name: 'analyst', content }] }));
        }
        if (url.pathname === '/favicon.ico') return send(204, 'text/plain', '');
        return send(404, 'text/plain', 'not here');
    });
    return new Promise((resolve) => {
        server.listen(0, '127.0.0.1', () => resolve({ server, requests, port: server.address().port }));
    });
}

module.exports = { startServer, APP };
