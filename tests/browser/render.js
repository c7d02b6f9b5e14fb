'use strict';
/**
 * The browser ring: renders every Dashboard Studio view in headless Debian Chromium with fixture data at
 * 1440 and 1920 px wide, checks that every panel shows data, clicks the drilldowns of scenarios.json and
 * checks which searches re-ran with which token values, reads what an analyst would see (table headers,
 * visible text, chart labels, one-line cells, the theme's colours) and writes a screenshot per view and
 * width.
 *
 * usage: node render.js --fixtures DIR --out REPORT.json --screenshots DIR [--views a,b]
 * The report is JSON ({view: {...}}); the Python tests assert on it. Exit status 0 unless the run itself
 * broke (no browser, no bundle).
 */
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');
const { startServer, APP } = require('./server');
const { buildBundle } = require('./build');

const ROOT = path.resolve(__dirname, '../..');
const VIEWS = path.join(ROOT, 'default', 'data', 'ui', 'views');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'];
// Laptop and desktop widths; drilldowns are clicked at the first.
const WIDTHS = [1440, 1920];
const MIN_HEIGHT = 1000;
const SETTLE_MS = 1500;
const PANEL_TIMEOUT_MS = 60000;

// Console messages of the Splunk packages themselves that say nothing about the views.
const BENIGN_CONSOLE = [
    /^strict mode: /, // ajv notes about Splunk's own schema
    /has no config\.layoutApi property/, // the view-only preset's grid layout
    /Download the React DevTools/,
];

function args() {
    const out = { views: null, fixtures: null, out: null, screenshots: null };
    const argv = process.argv.slice(2);
    for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
    if (out.views) out.views = out.views.split(',');
    return out;
}

function loadView(name) {
    const file = path.join(VIEWS, `${name}.xml`);
    if (!fs.existsSync(file)) return null;
    const text = fs.readFileSync(file, 'utf8');
    const match = text.match(/<definition>\s*<!\[CDATA\[([\s\S]*?)\]\]>\s*<\/definition>/);
    const theme = (text.match(/<dashboard[^>]*\btheme="(\w+)"/) || [])[1] || 'light';
    return { definition: JSON.parse(match[1]), theme };
}

function readJson(file, fallback) {
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : fallback;
}

let facts = {};

/** Resolve ${fixture:<dataSource>:<row>:<field>} and ${facts:<key>} placeholders. */
function resolveText(text, fixtures) {
    return text.replace(/\$\{facts:([\w-]+)\}/g, (_, key) => {
        if (!(key in facts)) throw new Error(`no fact ${key} in facts.json`);
        return String(facts[key]);
    }).replace(/\$\{fixture:([\w-]+):(\d+):([\w.-]+)\}/g, (_, ds, row, field) => {
        const data = fixtures[ds];
        if (!data) throw new Error(`scenario names fixture ${ds}, which does not exist`);
        const index = data.fields.findIndex((f) => (f.name || f) === field);
        if (index < 0) throw new Error(`fixture ${ds} has no field ${field}`);
        const value = data.columns[index][Number(row)];
        return Array.isArray(value) ? value[0] : String(value);
    });
}

function layoutHeight(definition) {
    const layouts = Object.values((definition.layout || {}).layoutDefinitions || {});
    const bottom = Math.max(0, ...layouts.flatMap((l) => (l.structure || [])
        .map((b) => (b.position ? b.position.y + b.position.h : 0))));
    return Math.max(MIN_HEIGHT, Math.ceil(bottom) + 220);
}

/** Every string a visualization's fixture holds (field names and cells): the full text of chart labels. */
function fixtureStrings(fixture) {
    if (!fixture) return [];
    const names = (fixture.fields || []).map((f) => f.name || f);
    const cells = (fixture.columns || []).flat(2).filter((v) => typeof v === 'string');
    return Array.from(new Set([...names, ...cells]));
}

/**
 * What an analyst sees, read from the rendered page: table header labels, the visible text (for raw
 * $tokens$ and Studio's placeholder text), chart labels cut by an ellipsis (with the full text and whether
 * it would fit), how many lines the cells of address, project and time columns take, and the theme's
 * colours (canvas, input bar, panels).
 */
async function pageFacts(page, definition, fixtures) {
    const vizzes = Object.entries(definition.visualizations || {}).map(([id, viz]) => ({
        id, type: viz.type, labels: fixtureStrings(fixtures[(viz.dataSources || {}).primary]),
    }));
    return page.evaluate((items) => {
        const svgNs = 'http://www.w3.org/2000/svg';
        const measure = (textElement, text) => {
            const probe = document.createElementNS(svgNs, 'text');
            probe.setAttribute('style', textElement.getAttribute('style') || '');
            probe.textContent = text;
            textElement.parentNode.appendChild(probe);
            const width = probe.getComputedTextLength();
            probe.remove();
            return width;
        };
        // Lines a cell's text takes: the distinct tops of its text fragments' boxes.
        const lines = (element) => {
            const tops = [];
            const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                if (!node.textContent.trim()) continue;
                const range = document.createRange();
                range.selectNodeContents(node);
                for (const rect of range.getClientRects()) {
                    if (rect.width > 0 && !tops.some((t) => Math.abs(t - rect.top) < 3)) tops.push(rect.top);
                }
            }
            return tops.length;
        };
        const headers = [];
        const cells = [];
        const chartLabels = [];
        for (const { id, type, labels } of items) {
            const el = document.querySelector(`[data-id="${id}"]`);
            if (!el) continue;
            const heads = [...el.querySelectorAll('th[data-test="head-cell"]')];
            heads.forEach((th) => headers.push({ viz: id, label: th.innerText.trim(), lines: lines(th) }));
            for (const row of el.querySelectorAll('[data-test="body"] [data-test="row"]')) {
                [...row.querySelectorAll('td')].forEach((td, i) => {
                    const text = td.innerText.trim();
                    if (text) cells.push({ viz: id, header: heads[i] ? heads[i].innerText.trim() : '', text, lines: lines(td) });
                });
            }
            if (!/^splunk\.(bar|column|line|area|pie)$/.test(type)) continue;
            const width = el.getBoundingClientRect().width;
            const kinds = [['legend', '.highcharts-legend-item text'], ['axis', '.highcharts-axis-labels text'],
                ['data', '.highcharts-data-label text']];
            for (const [kind, selector] of kinds) {
                for (const text of el.querySelectorAll(selector)) {
                    const shown = text.textContent;
                    const cut = shown.match(/^(.*?)(?:\.\.\.|\u2026)(.*)$/);
                    if (!cut) continue;
                    const full = labels.find((l) => l.length > shown.length - 3 && l.startsWith(cut[1]) && l.endsWith(cut[2]));
                    const fullWidth = full ? measure(text, full) : null;
                    // A legend item may use a whole legend row; axis and data labels a third of the chart.
                    const room = kind === 'legend' ? width - 40 : width / 3;
                    chartLabels.push({ viz: id, kind, shown, full: full || null, fullWidth, room,
                        fits: fullWidth !== null && fullWidth <= room });
                }
            }
        }
        const svgText = [...document.querySelectorAll('svg text')].map((t) => t.textContent).join('\n');
        const background = (selector) => {
            const node = document.querySelector(selector);
            return node ? getComputedStyle(node).backgroundColor : null;
        };
        return {
            headers,
            cells,
            chartLabels,
            text: `${document.body.innerText}\n${svgText}`,
            theme: {
                canvas: background('[data-test="grid-layout-canvas"], [data-test="absolute-layout-canvas"]'),
                inputs: background('[data-test="input-layout-container"]'),
                panel: background('[data-test="viz-title-description-container"]'),
            },
        };
    }, vizzes);
}

/** What a panel shows, read from the DOM: data, a waiting/error placeholder, or nothing. */
async function panelStates(page, definition) {
    const vizzes = Object.entries(definition.visualizations || {})
        .map(([id, viz]) => ({ id, type: viz.type, ds: (viz.dataSources || {}).primary || null }));
    return page.evaluate((items) => items.map(({ id, type, ds }) => {
        const el = document.querySelector(`[data-id="${id}"]`);
        if (!el) return { id, type, ds, state: 'missing' };
        if (el.querySelector('[data-test^="viz-waiting-for-input"]')) return { id, type, ds, state: 'waiting' };
        const text = el.innerText || '';
        const errorText = /no fixture for data source|Search failed|Error in|No search results returned|An error occurred/i
            .exec(text);
        if (errorText) return { id, type, ds, state: 'error', detail: errorText[0] };
        const sample = text.replace(/\s+/g, ' ').slice(0, 3000);
        let evidence = 0;
        if (type === 'splunk.table') evidence = el.querySelectorAll('[data-test="body"] [data-test="row"]').length;
        else if (type === 'splunk.singlevalue') {
            const major = el.querySelector('[data-test="majorValue"]');
            evidence = major && major.textContent.trim() && major.textContent.trim() !== 'N/A' ? 1 : 0;
        } else if (type === 'splunk.markdown') evidence = text.trim().length;
        else evidence = el.querySelectorAll('.highcharts-point, .highcharts-graph').length;
        return { id, type, ds, state: evidence > 0 ? 'data' : 'empty', evidence, text: sample };
    }), vizzes);
}

async function waitForPanels(page, definition) {
    const started = Date.now();
    let states = [];
    while (Date.now() - started < PANEL_TIMEOUT_MS) {
        states = await panelStates(page, definition);
        if (states.every((s) => s.state === 'data' || s.state === 'error' || s.state === 'waiting')) {
            await page.waitForTimeout(SETTLE_MS);
            states = await panelStates(page, definition);
            if (states.every((s) => s.state !== 'empty' && s.state !== 'missing')) break;
        }
        await page.waitForTimeout(250);
    }
    return states;
}

async function dsLog(page) {
    return page.evaluate(() => window.__DS_LOG__ || []);
}

async function doStep(page, step) {
    if (step.click) {
        const { viz, target, index = 0 } = step.click;
        const selector = {
            'table-row': `[data-id="${viz}"] [data-test="body"] [data-test="row"]`,
            'chart-point': `[data-id="${viz}"] .highcharts-point`,
        }[target];
        const element = page.locator(selector).nth(index);
        if (target === 'table-row') await element.locator('[data-test="cell"]').first().click();
        else await element.click({ force: true });
    } else if (step.fill) {
        const box = page.locator(`[data-input-id="${step.fill.input}"] input`).first();
        await box.fill(step.fill.value);
        await box.press('Enter');
    } else if (step.select) {
        await page.locator(`[data-input-id="${step.select.input}"] button`).first().click();
        await page.getByRole('option', { name: step.select.label, exact: true }).first().click();
    }
}

function queryText(entry) {
    return [entry.baseQuery, entry.query].filter(Boolean).join('\n');
}

/** Run one scenario step list; returns the drilldown results. */
async function runDrilldowns(page, scenario, fixtures, definition) {
    const results = [];
    for (const drill of scenario.drilldowns || []) {
        const result = { name: drill.name, ok: false, problems: [] };
        try {
            const before = (await dsLog(page)).length;
            const urlBefore = page.url();
            for (const step of drill.steps) await doStep(page, step);
            const expect = drill.expect;
            if (expect.navigate) {
                await page.waitForURL((u) => u.toString() !== urlBefore, { timeout: 20000 });
                const url = new URL(page.url());
                result.url = url.pathname + url.search;
                const want = `/en-US/app/${APP}/${expect.navigate.dashboard}`;
                if (url.pathname !== want) result.problems.push(`navigated to ${url.pathname}, expected ${want}`);
                for (const [token, value] of Object.entries(expect.navigate.tokens || {})) {
                    const got = url.searchParams.get(`form.${token}`);
                    const wantValue = resolveText(value, fixtures);
                    if (got !== wantValue) result.problems.push(`form.${token}=${got}, expected ${wantValue}`);
                }
                const target = loadView(expect.navigate.dashboard);
                result.targetPanels = await waitForPanels(page, target.definition);
                const notShowing = result.targetPanels.filter((s) => s.state !== 'data');
                if (notShowing.length) {
                    result.problems.push(`target panels without data: ${notShowing.map((s) => `${s.id}:${s.state}`).join(', ')}`);
                }
                const log = await dsLog(page);
                for (const check of expect.navigate.searches || []) {
                    const texts = check.contains.map((t) => resolveText(t, fixtures));
                    const ran = log.filter((e) => e.id === check.dataSource);
                    if (!ran.some((e) => texts.every((t) => queryText(e).includes(t)))) {
                        result.problems.push(`${check.dataSource} did not run with ${JSON.stringify(texts)}; ran: `
                            + JSON.stringify(ran.map((e) => e.query).slice(-2)));
                    }
                }
                result.targetFacts = await pageFacts(page, target.definition,
                    readJson(path.join(scenario.fixturesDir, `${expect.navigate.dashboard}.json`), {}));
                // Back to the view for the next drilldown. Not history.back(): the target view rewrites its own
                // history entries as it reflects its inputs in the URL.
                if (drill !== scenario.drilldowns[scenario.drilldowns.length - 1]) {
                    await page.goto(urlBefore);
                    await waitForPanels(page, definition);
                }
            } else {
                const deadline = Date.now() + 20000;
                let pending = expect.searches.slice();
                let fresh = [];
                while (pending.length && Date.now() < deadline) {
                    await page.waitForTimeout(250);
                    fresh = (await dsLog(page)).slice(before);
                    pending = pending.filter((check) => {
                        const texts = check.contains.map((t) => resolveText(t, fixtures));
                        return !fresh.some((e) => e.id === check.dataSource && texts.every((t) => queryText(e).includes(t)));
                    });
                }
                for (const check of pending) {
                    result.problems.push(`${check.dataSource} did not re-run with ${JSON.stringify(check.contains.map((t) => resolveText(t, fixtures)))}; `
                        + `re-ran: ${JSON.stringify(fresh.filter((e) => e.id === check.dataSource).map((e) => e.query))}`);
                }
                await page.waitForTimeout(SETTLE_MS);
                fresh = (await dsLog(page)).slice(before);
                for (const check of expect.searches.filter((c) => c.once)) {
                    const texts = check.contains.map((t) => resolveText(t, fixtures));
                    const runs = fresh.filter((e) => e.id === check.dataSource && texts.every((t) => queryText(e).includes(t)));
                    if (runs.length > 1) result.problems.push(`${check.dataSource} ran ${runs.length} times, expected once`);
                }
                for (const check of expect.noSearches || []) {
                    const texts = (check.contains || []).map((t) => resolveText(t, fixtures));
                    const runs = fresh.filter((e) => e.id === check.dataSource && texts.every((t) => queryText(e).includes(t)));
                    if (runs.length) result.problems.push(`${check.dataSource} ran during the steps: ${JSON.stringify(runs.map((e) => e.query))}`);
                }
                result.reran = fresh.map((e) => e.id);
                const states = await waitForPanels(page, definition);
                const affected = states.filter((s) => expect.searches.some((c) => c.dataSource === s.ds));
                for (const s of affected) if (s.state !== 'data') result.problems.push(`${s.id} shows ${s.state} after the drilldown`);
            }
        } catch (error) {
            result.problems.push(`step failed: ${error.message.split('\n')[0]}`);
        }
        result.ok = result.problems.length === 0;
        results.push(result);
    }
    return results;
}

async function main() {
    const opts = args();
    const fixturesDir = path.resolve(opts.fixtures);
    const screenshots = path.resolve(opts.screenshots);
    fs.mkdirSync(screenshots, { recursive: true });
    const scenarios = readJson(path.join(__dirname, 'scenarios.json'), {});
    facts = readJson(path.join(fixturesDir, 'facts.json'), {});
    const names = opts.views || fs.readdirSync(VIEWS).filter((f) => f.endsWith('.xml')).map((f) => f.slice(0, -4)).sort();

    const bundle = await buildBundle();
    const loadFixtures = (name) => readJson(path.join(fixturesDir, `${name}.json`), {});
    const { server, requests, port } = await startServer({ bundle, loadView, loadFixtures });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    const report = {};
    try {
        for (const name of names) {
            const view = loadView(name);
            const scenario = { ...(scenarios[name] || {}), fixturesDir };
            const fixtures = loadFixtures(name);
            const entry = { pages: {} };
            for (const width of WIDTHS) {
                // Tall enough for the whole grid: the canvas scrolls inside the page, so a full-page shot would not.
                const context = await browser.newContext({ viewport: { width, height: layoutHeight(view.definition) } });
                const page = await context.newPage();
                const errors = [];
                page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
                page.on('console', (m) => {
                    if (m.type() !== 'error' && m.type() !== 'warning') return;
                    if (BENIGN_CONSOLE.some((re) => re.test(m.text()))) return;
                    errors.push(`console.${m.type()}: ${m.text().slice(0, 400)}`);
                });
                const firstRequest = requests.length;
                const query = new URLSearchParams(Object.entries(scenario.urlTokens || {})
                    .map(([k, v]) => [`form.${k}`, resolveText(v, loadFixtures(scenario.urlTokensFrom || name))]));
                const started = Date.now();
                await page.goto(`http://127.0.0.1:${port}/en-US/app/${APP}/${name}${query.toString() ? `?${query}` : ''}`);
                const panels = await waitForPanels(page, view.definition);
                const renderMs = Date.now() - started;
                const shot = path.join(screenshots, `${name}.${width}.png`);
                await page.screenshot({ path: shot, fullPage: true });
                entry.pages[width] = { renderMs, panels, facts: await pageFacts(page, view.definition, fixtures), screenshot: shot };
                if (width === WIDTHS[0]) {
                    const searches = await dsLog(page);
                    const drilldowns = await runDrilldowns(page, scenario, fixtures, view.definition);
                    let panelsAfter = null;
                    let searchesAfter = null;
                    let factsAfter = null;
                    if (drilldowns.length) {
                        await page.screenshot({ path: path.join(screenshots, `${name}.after-drilldowns.png`), fullPage: true });
                        const last = (scenario.drilldowns || [])[scenario.drilldowns.length - 1];
                        if (!last.expect.navigate) {
                            panelsAfter = await waitForPanels(page, view.definition);
                            searchesAfter = (await dsLog(page)).map((e) => ({ id: e.id, query: e.query, rows: e.rows }));
                            factsAfter = await pageFacts(page, view.definition, fixtures);
                        }
                    }
                    Object.assign(entry, {
                        renderMs,
                        panels,
                        searches: searches.map((e) => ({ id: e.id, query: e.query, extend: e.extend, rows: e.rows,
                            queryParameters: e.queryParameters })),
                        tokens: await page.evaluate(() => window.__TOKENS__),
                        drilldowns,
                        panelsAfter,
                        searchesAfter,
                        factsAfter,
                        screenshot: shot,
                    });
                }
                const served = requests.slice(firstRequest);
                entry.errors = [...(entry.errors || []), ...errors.map((e) => `${width}px ${e}`)];
                entry.unexpectedRequests = [...(entry.unexpectedRequests || []), ...served.filter((r) => r.path !== '/favicon.ico'
                    && !r.path.startsWith('/splunkd/__raw/') && !r.path.startsWith('/static/')
                    && !r.path.startsWith(`/en-US/app/${APP}/`)).map((r) => r.path)];
                entry.unansweredRequests = [...(entry.unansweredRequests || []),
                    ...served.filter((r) => r.status === 404).map((r) => r.path)];
                await context.close();
            }
            report[name] = entry;
        }
    } finally {
        await browser.close();
        server.close();
    }
    fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
    fs.writeFileSync(path.resolve(opts.out), JSON.stringify(report, null, 1));
}

main().catch((error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
});
