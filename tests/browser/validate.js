'use strict';
/**
 * Validates Dashboard Studio views against Splunk's own definition schema and semantic checks.
 *
 * usage: node validate.js [view.xml ...]   (default: every view of default/data/ui/views)
 * Prints one JSON object: {"<file>": {"version": "2", "errors": [...]}}; exit status 0 either way
 * (the Python tests read the report and assert on it).
 */
const fs = require('fs');
const path = require('path');

require('./dom-shim');

const VIEWS = path.resolve(__dirname, '../../default/data/ui/views');

function readView(file) {
    const text = fs.readFileSync(file, 'utf8');
    const doc = new window.DOMParser().parseFromString(text, 'text/xml');
    const parseError = doc.getElementsByTagName('parsererror')[0];
    if (parseError) {
        return { errors: [`XML is not well-formed: ${parseError.textContent.trim().split('\n')[0]}`] };
    }
    const root = doc.documentElement;
    const errors = [];
    if (root.tagName !== 'dashboard') errors.push(`root element is <${root.tagName}>, not <dashboard>`);
    const version = root.getAttribute('version');
    const definitionNode = root.getElementsByTagName('definition')[0];
    if (!definitionNode) return { version, errors: errors.concat('no <definition> element') };
    let definition;
    try {
        definition = JSON.parse(definitionNode.textContent);
    } catch (e) {
        return { version, errors: errors.concat(`definition is not JSON: ${e.message}`) };
    }
    return { version, definition, errors };
}

function describe(error) {
    if (typeof error === 'string') return error;
    const where = error.instancePath || error.dataPath || error.path || '';
    const params = error.params ? ` ${JSON.stringify(error.params)}` : '';
    return `${where} ${error.message || JSON.stringify(error)}${params}`.trim();
}

function main() {
    const files = process.argv.slice(2).length
        ? process.argv.slice(2).map((f) => path.resolve(f))
        : fs.readdirSync(VIEWS).filter((f) => f.endsWith('.xml')).sort().map((f) => path.join(VIEWS, f))
            .filter((f) => fs.readFileSync(f, 'utf8').includes('<definition>')); // Studio views only

    // Loaded after the shim: these modules touch window at load time.
    const { createSchemaBasedOnPresets } = require('@splunk/dashboard-definition');
    const { DashboardValidator } = require('@splunk/dashboard-validation');
    const presetModule = require('@splunk/dashboard-presets/EnterpriseViewOnlyPreset');
    const preset = presetModule.default || presetModule;

    const schema = createSchemaBasedOnPresets(preset);
    const validator = new DashboardValidator();
    const schemaError = validator.setSchema(schema);
    if (schemaError) throw schemaError;

    const report = {};
    for (const file of files) {
        const view = readView(file);
        const entry = { version: view.version || null, errors: view.errors.slice() };
        if (view.definition) {
            const result = validator.validate(view.definition);
            if (result) {
                const list = Array.isArray(result) ? result : Object.values(result).flat();
                entry.errors.push(...list.map(describe));
            }
        }
        report[path.basename(file)] = entry;
    }
    process.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
}

// ajv's strict-mode notes about Splunk's own schema go to the console: keep stdout for the report.
console.warn = () => {};
const log = console.log;
console.log = (...args) => process.stderr.write(`${args.join(' ')}\n`);
main();
void log;
