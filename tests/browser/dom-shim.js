'use strict';
// The Splunk dashboard packages expect a browser: give node a DOM (jsdom) and the few browser APIs their
// module-load code touches. Only for validation in node; rendering runs in a real Chromium.
require('global-jsdom')(undefined, { url: 'http://127.0.0.1/' });

const noop = () => {};
window.matchMedia = window.matchMedia || (() => ({
    matches: false, addListener: noop, removeListener: noop, addEventListener: noop, removeEventListener: noop,
}));
global.matchMedia = window.matchMedia;
global.ResizeObserver = window.ResizeObserver = class { observe() {} unobserve() {} disconnect() {} };
// uPlot dispatches jsdom events at load time: node's own Event classes must not shadow jsdom's.
for (const name of ['Event', 'CustomEvent', 'EventTarget', 'MessageEvent']) global[name] = window[name];
// maplibre creates a worker blob URL at load time.
window.URL.createObjectURL = window.URL.createObjectURL || (() => 'blob:stub');
window.URL.revokeObjectURL = window.URL.revokeObjectURL || noop;
// The search bar's Ace editor registers itself on window.ace, which a bundler provides.
window.ace = window.ace || { require: () => ({}), define: noop, config: { set: noop, setModuleUrl: noop, loadModule: noop } };
// Stylesheets imported by visualization modules are irrelevant to validation.
require.extensions['.css'] = noop;
