/**
 * Renders one Dashboard Studio view the way Splunk Enterprise does (DashboardContextProvider +
 * DashboardCore, Enterprise view-only preset), with every search replaced by fixture data.
 *
 * The page provides window.__VIEW__ (definition, theme), window.__FIXTURES__ ({dataSourceId: {fields,
 * columns}}) and form.<token>=value URL parameters like a Splunk dashboard URL. Every data source the
 * dashboard creates is logged in window.__DS_LOG__ with its resolved query, so a test can tell which
 * searches ran with which token values.
 */
import React from 'react';
import { createRoot } from 'react-dom/client';
import { DashboardContextProvider } from '@splunk/dashboard-context';
import DashboardCore from '@splunk/dashboard-core';
import EnterpriseViewOnlyPreset from '@splunk/dashboard-presets/EnterpriseViewOnlyPreset';
import TestDataSource from '@splunk/datasources/TestDataSource';
import SplunkSearch from '@splunk/datasources/SplunkSearch';
import SplunkThemeProvider from '@splunk/themes/SplunkThemeProvider';

const view = window.__VIEW__;
const fixtures = window.__FIXTURES__ || {};
window.__DS_LOG__ = [];
window.__TOKENS__ = null;
window.__LINKS__ = [];

/**
 * Fixture cells may echo the token-resolved search: "{{query:<regex>}}" becomes the regex's first group
 * matched against the query (e.g. the owner a triage decision carries); "{{words:<regex>}}" the same with
 * underscores shown as spaces, as the panels' SPL shows machine values (false_positive -> false positive).
 */
function echoQuery(fixture, query) {
    if (!fixture) return fixture;
    // The first group, with the |s filter's backslash escapes undone (\" is a quote in the panel).
    const group = (re) => (((query || '').match(new RegExp(re)) || [])[1] ?? '').replace(/\\(.)/g, '$1');
    const echo = (cell) => (typeof cell === 'string'
        ? cell.replace(/\{\{(query|words):(.*?)\}\}/g, (_, kind, re) => (kind === 'words' ? group(re).replace(/_/g, ' ') : group(re)))
        : cell);
    let { columns } = fixture;
    // "match": {"field", "query"}: keep the rows whose field equals the regex group found in the query
    // (a wildcard keeps all), like the search's own filter on a drilldown token would.
    if (fixture.match) {
        const wanted = ((query || '').match(new RegExp(fixture.match.query)) || [])[1];
        const index = fixture.fields.findIndex((f) => (f.name || f) === fixture.match.field);
        if (wanted !== undefined && wanted !== '*' && index >= 0) {
            const keep = columns[index].map((value) => value === wanted);
            columns = columns.map((column) => column.filter((_, i) => keep[i]));
        }
    }
    return { fields: fixture.fields, columns: columns.map((column) => column.map(echo)) };
}

function dataSourceId(context) {
    return context.dataSourceId || context.id || context.dsId || context.name;
}

/**
 * Stands in for ds.search / ds.chain / ds.savedSearch. It keeps SplunkSearch's schema and config, which the
 * framework reads to compose chains, and answers with the fixture recorded for the data source id.
 */
class FixtureDataSource extends TestDataSource {
    static schema = SplunkSearch.schema;

    static config = SplunkSearch.config;

    constructor(options = {}, context = {}, meta = {}, baseChainModel = {}) {
        const id = dataSourceId(context);
        const fixture = echoQuery(fixtures[id], options.query);
        super(fixture ? { data: fixture, timeToStart: 5 } : { error: `no fixture for data source ${id}` }, context);
        this.searchOptions = options;
        window.__DS_LOG__.push({
            id,
            query: options.query,
            extend: options.extend,
            queryParameters: options.queryParameters || null,
            baseQuery: baseChainModel && baseChainModel.query,
            rows: fixture ? (fixture.columns[0] || []).length : -1,
            at: Date.now(),
        });
    }
}

/** Splunk Web's drilldown.linkToDashboard (not in the view-only preset): opens /app/<app>/<view>?form.*. */
class LinkToDashboard {
    constructor(options = {}) {
        this.options = options;
    }

    canHandle = (event) => !!event && (event.type.endsWith('.click'));

    handle = () => {
        const { app, dashboard, tokens = [], newTab } = this.options;
        const query = tokens
            .map(({ token, value }) => `form.${encodeURIComponent(token)}=${encodeURIComponent(value ?? '')}`)
            .join('&');
        const url = `/en-US/app/${app}/${dashboard}${query ? `?${query}` : ''}`;
        window.__LINKS__.push({ app, dashboard, tokens, url });
        return Promise.resolve([{ type: 'linkTo', payload: { url, newTab: !!newTab } }]);
    };
}

const preset = {
    ...EnterpriseViewOnlyPreset,
    dataSources: {
        ...EnterpriseViewOnlyPreset.dataSources,
        'ds.search': FixtureDataSource,
        'ds.chain': FixtureDataSource,
        'ds.savedSearch': FixtureDataSource,
    },
    eventHandlers: {
        ...EnterpriseViewOnlyPreset.eventHandlers,
        'drilldown.linkToDashboard': LinkToDashboard,
    },
};

function urlTokens() {
    const tokens = {};
    for (const [key, value] of new URLSearchParams(window.location.search)) {
        if (key.startsWith('form.')) tokens[key.slice(5)] = value;
    }
    return tokens;
}

const initialTokens = urlTokens();
window.__INITIAL_TOKENS__ = initialTokens;

const root = createRoot(document.getElementById('root'));
root.render(
    <SplunkThemeProvider family="enterprise" colorScheme={view.theme === 'light' ? 'light' : 'dark'} density="compact">
        <DashboardContextProvider
            preset={preset}
            initialDefinition={view.definition}
            initialTokenBinding={{ default: initialTokens }}
            onTokenBindingChange={(tokens) => {
                window.__TOKENS__ = tokens;
            }}
        >
            <DashboardCore width="100%" height="100%" />
        </DashboardContextProvider>
    </SplunkThemeProvider>,
);
