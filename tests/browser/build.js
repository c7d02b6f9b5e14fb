'use strict';
/** Bundles harness/entry.jsx (React + the Splunk dashboard packages) for the browser with esbuild. */
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const OUT = path.resolve(__dirname, '../../build/browser/bundle.js');
const SOURCES = [path.join(__dirname, 'harness', 'entry.jsx'), path.join(__dirname, 'package-lock.json')];

async function buildBundle({ force = false } = {}) {
    const fresh = fs.existsSync(OUT)
        && SOURCES.every((s) => fs.statSync(s).mtimeMs < fs.statSync(OUT).mtimeMs);
    if (fresh && !force) return OUT;
    await esbuild.build({
        entryPoints: [path.join(__dirname, 'harness', 'entry.jsx')],
        bundle: true,
        outfile: OUT,
        minify: true,
        target: 'chrome120',
        logLevel: 'error',
        define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
        loader: { '.js': 'jsx', '.css': 'empty', '.svg': 'dataurl', '.png': 'dataurl', '.woff': 'dataurl', '.woff2': 'dataurl' },
    });
    return OUT;
}

module.exports = { buildBundle };

if (require.main === module) {
    buildBundle({ force: true }).then((out) => process.stdout.write(`${out}\n`)).catch((e) => {
        process.stderr.write(`${e.stack || e}\n`);
        process.exit(1);
    });
}
