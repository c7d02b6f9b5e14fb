/*
 * GCP Guardrail Monitor setup page (view guardrail_setup, app.conf [ui] setup_view).
 *
 * Stores the guardrail_notify webhook in storage/passwords and the action's format and allowed
 * hosts in alert_actions.conf, through Splunk Web's own REST proxy (<root>/<locale>/splunkd/__raw),
 * so no one needs splunkd's management port: that is what a Splunk Cloud admin has. Plain browser
 * JavaScript: no Splunk Web library is imported. The secret is sent once, in a POST body, and is
 * never written to the page, the console or a URL.
 */
(function () {
    'use strict';

    var APP = 'gcp_guardrail';
    var ACTION = 'guardrail_notify';
    var NAME = /^[A-Za-z0-9_.-]{1,64}$/;
    var FORMATS = ['slack', 'teams', 'json'];

    /** <root>/<locale>/splunkd/__raw, from this page's own address (/<root>/<locale>/app/<app>/<view>). */
    function restBase() {
        var path = window.location.pathname;
        var at = path.indexOf('/app/');
        return (at >= 0 ? path.slice(0, at) : '') + '/splunkd/__raw';
    }

    /** Splunk Web's CSRF token: the splunkweb_csrf_token_<port> cookie, sent back as X-Splunk-Form-Key. */
    function formKey() {
        var cookies = document.cookie ? document.cookie.split(';') : [];
        for (var i = 0; i < cookies.length; i += 1) {
            var pair = cookies[i].trim();
            var eq = pair.indexOf('=');
            if (eq > 0 && pair.slice(0, eq).indexOf('splunkweb_csrf_token_') === 0) {
                return decodeURIComponent(pair.slice(eq + 1));
            }
        }
        return '';
    }

    function request(method, path, fields) {
        var url = restBase() + path + (path.indexOf('?') >= 0 ? '&' : '?') + 'output_mode=json';
        var options = {
            method: method,
            credentials: 'same-origin',
            headers: { 'X-Splunk-Form-Key': formKey(), 'X-Requested-With': 'XMLHttpRequest' },
        };
        if (fields) {
            options.headers['Content-Type'] = 'application/x-www-form-urlencoded';
            options.body = new URLSearchParams(fields).toString();
        }
        return fetch(url, options).then(function (response) {
            return response.text().then(function (text) {
                var data = null;
                try { data = text ? JSON.parse(text) : null; } catch (ignored) { data = null; }
                return { status: response.status, data: data };
            });
        });
    }

    /** splunkd's own message for a failed call (never contains the posted secret). */
    function failure(what, reply) {
        var messages = (reply.data && reply.data.messages) || [];
        var text = messages.length ? messages[0].text : 'HTTP ' + reply.status;
        if (reply.status === 401) {
            text = 'the Splunk Web session is not valid any more: reload the page and sign in again';
        } else if (reply.status === 403) {
            text = 'permission denied (setup needs an admin, sc_admin on Splunk Cloud): ' + text;
        }
        return new Error(what + ' failed: ' + text);
    }

    var LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
    var IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

    /** A host name (letters, digits, - and _ per label) or a canonical IPv4 / bracket-less IPv6
     * literal; the action's own rules (bin/guardrail/notify/url.py), so the page refuses what the
     * action would refuse when it sends. Returns the lower-case host, or '' when refused. */
    function checkHost(text) {
        var host = text.toLowerCase();
        if (!host || host.indexOf('%') >= 0 || host.length > 253) { return ''; }
        if (host.indexOf(':') >= 0) { return /^[0-9a-f:.]+$/.test(host) && host.split('::').length <= 2 ? host : ''; }
        var labels = host.split('.');
        var last = labels[labels.length - 1];
        if (/^\d+$/.test(last) || last.indexOf('0x') === 0) { return IPV4.test(host) ? host : ''; }
        return labels.every(function (label) { return LABEL.test(label); }) ? host : '';
    }

    /** The webhook's host, or an Error saying why the action would refuse the address. */
    function webhookHost(text) {
        for (var i = 0; i < text.length; i += 1) {
            var code = text.charCodeAt(i);
            if (code < 0x21 || code > 0x7e) { return new Error('no spaces, control or non-ASCII characters in the address'); }
        }
        if (text.indexOf('\\') >= 0) { return new Error('no backslash in the address'); }
        if (text.indexOf('#') >= 0) { return new Error('no fragment (#) in the address'); }
        var scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text);
        if (!scheme || scheme[1].toLowerCase() !== 'https') { return new Error('only https webhooks are allowed'); }
        var rest = text.slice(scheme[0].length);
        var authority = rest.split(/[/?]/)[0];
        if (authority.indexOf('@') >= 0) { return new Error('no user name or password in the address'); }
        var host;
        var port = null;
        if (authority.charAt(0) === '[') {
            var end = authority.indexOf(']');
            if (end < 0) { return new Error('malformed IPv6 host'); }
            host = authority.slice(1, end);
            if (authority.length > end + 1) {
                if (authority.charAt(end + 1) !== ':') { return new Error('the address does not parse'); }
                port = authority.slice(end + 2);
            }
            if (host.indexOf(':') < 0) { return new Error('malformed IPv6 host'); }
        } else {
            var parts = authority.split(':');
            if (parts.length > 2) { return new Error('an IPv6 host needs brackets'); }
            host = parts[0];
            if (parts.length === 2) { port = parts[1]; }
        }
        if (port !== null && !(/^\d{1,5}$/.test(port) && +port >= 1 && +port <= 65535)) {
            return new Error('the port is missing or out of range');
        }
        var checked = checkHost(host);
        return checked || new Error('the host is not a plain host name or a dotted-quad IPv4 address');
    }

    function isIp(host) { return host.indexOf(':') >= 0 || IPV4.test(host); }

    function hostAllowed(host, allowed) {
        return allowed.some(function (entry) {
            if (entry.indexOf('*.') === 0) {
                return !isIp(host) && host.length > entry.length - 1 && host.slice(-(entry.length - 1)) === entry.slice(1);
            }
            return host === entry;
        });
    }

    /** Checks the action itself makes before it sends (bin/guardrail/notify/config.py), made early. */
    function validate(values) {
        var host = webhookHost(values.webhook);
        if (host instanceof Error) { return host.message; }
        if (!NAME.test(values.name)) { return 'the secret name may hold letters, digits, . _ - (at most 64)'; }
        if (FORMATS.indexOf(values.format) < 0) { return 'choose a message format'; }
        if (!values.allowed.length) { return 'list at least one allowed host'; }
        for (var i = 0; i < values.allowed.length; i += 1) {
            var entry = values.allowed[i];
            if (!checkHost(entry.indexOf('*.') === 0 ? entry.slice(2) : entry)) {
                return 'not a host name, *.domain pattern or IP address: ' + entry;
            }
        }
        if (!hostAllowed(host, values.allowed)) {
            return 'the webhook host ' + host + ' is not in the allowed hosts';
        }
        return '';
    }

    function storePassword(realm, name, secret) {
        var base = '/servicesNS/nobody/' + APP + '/storage/passwords';
        return request('POST', base, { name: name, realm: realm, password: secret }).then(function (reply) {
            if (reply.status === 200 || reply.status === 201) { return 'stored'; }
            if (reply.status !== 409) { throw failure('storing the webhook', reply); }
            // It exists: replace the password of that entry.
            var entity = base + '/' + encodeURIComponent(realm + ':' + name + ':');
            return request('POST', entity, { password: secret }).then(function (update) {
                if (update.status !== 200 && update.status !== 201) { throw failure('replacing the webhook', update); }
                return 'replaced';
            });
        });
    }

    function markConfigured() {
        return request('POST', '/services/apps/local/' + APP, { configured: '1' }).then(function (reply) {
            if (reply.status !== 200 && reply.status !== 201) { throw failure('marking the app as set up', reply); }
        });
    }

    function start(attempt) {
        var root = document.getElementById('guardrail-setup');
        if (!root) {
            // Simple XML renders the html panel after this script may have loaded.
            if (attempt < 100) { window.setTimeout(function () { start(attempt + 1); }, 100); }
            return;
        }
        var field = function (id) { return document.getElementById(id); };
        var status = field('guardrail-status');
        var buttons = [field('guardrail-save'), field('guardrail-skip')];
        var realm = APP;

        function show(text, kind) {
            status.textContent = text;
            status.className = 'guardrail-setup-status ' + (kind || '');
        }
        function busy(on) { buttons.forEach(function (b) { b.disabled = on; }); }

        request('GET', '/servicesNS/nobody/' + APP + '/configs/conf-alert_actions/' + ACTION).then(function (reply) {
            var entry = reply.status === 200 && reply.data && reply.data.entry && reply.data.entry[0];
            var content = (entry && entry.content) || {};
            field('guardrail-format').value = FORMATS.indexOf(content['param.format']) >= 0 ? content['param.format'] : 'json';
            field('guardrail-allowed-hosts').value = content['param.allowed_hosts'] || '';
            field('guardrail-secret-name').value = content['param.secret_name'] || 'guardrail_webhook';
            realm = content['param.secret_realm'] || APP;
            if (!entry) { show('Could not read the current settings (HTTP ' + reply.status + ').', 'error'); }
        }, function () {
            show('Could not reach Splunk Web.', 'error');
        });

        field('guardrail-save').addEventListener('click', function () {
            var webhook = field('guardrail-webhook').value.trim();
            var token = field('guardrail-token').value.trim();
            var values = {
                webhook: webhook,
                name: field('guardrail-secret-name').value.trim(),
                format: field('guardrail-format').value,
                allowed: field('guardrail-allowed-hosts').value.split(',')
                    .map(function (h) { return h.trim().toLowerCase().replace(/\.$/, ''); })
                    .filter(function (h) { return h; }),
            };
            if (!values.allowed.length) {
                var only = webhookHost(webhook);
                values.allowed = only instanceof Error ? [] : [only];
            }
            var problem = validate(values);
            if (problem) { show('Not saved: ' + problem + '.', 'error'); return; }
            var secret = token ? JSON.stringify({ url: webhook, token: token }) : webhook;
            busy(true);
            show('Saving...', '');
            storePassword(realm, values.name, secret).then(function (how) {
                var settings = { 'param.format': values.format, 'param.allowed_hosts': values.allowed.join(', '),
                    'param.secret_name': values.name };
                return request('POST', '/servicesNS/nobody/' + APP + '/configs/conf-alert_actions/' + ACTION, settings)
                    .then(function (reply) {
                        if (reply.status !== 200 && reply.status !== 201) { throw failure('saving the action settings', reply); }
                        return markConfigured();
                    })
                    .then(function () {
                        field('guardrail-webhook').value = '';
                        field('guardrail-token').value = '';
                        field('guardrail-allowed-hosts').value = values.allowed.join(', ');
                        show('Webhook ' + how + ' as ' + realm + ':' + values.name + '; format ' + values.format
                            + ', allowed hosts ' + values.allowed.join(', ') + '.', 'ok');
                    });
            }).catch(function (error) {
                show('Not saved: ' + error.message + '.', 'error');
            }).then(function () { busy(false); });
        });

        field('guardrail-skip').addEventListener('click', function () {
            busy(true);
            markConfigured().then(function () {
                show('Setup finished without a webhook; notifications stay off.', 'ok');
            }).catch(function (error) {
                show(error.message + '.', 'error');
            }).then(function () { busy(false); });
        });
    }

    start(0);
}());
