// Test-only OpenID Connect provider on loopback, built on the certified oidc-provider.
//
//   node provider.mjs [--port N] [--config FILE] [--exit-with-stdin]
//   (or OIDC_PORT / OIDC_CONFIG; port 0 picks a free one; no config = default-config.json)
//
// stdout carries exactly one line, {"ready":true,"issuer":...,"port":...,"kid":...}, once
// listening; everything else goes to stderr, so a caller can wait for that line alone.
// Never expose this beyond 127.0.0.1: /__test/* mints tokens for anybody.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    config: { type: 'string' },
    'exit-with-stdin': { type: 'boolean' },
  },
});
const requestedPort = Number(args.port ?? process.env.OIDC_PORT ?? 0);
const configPath = args.config ?? process.env.OIDC_CONFIG
  ?? new URL('./default-config.json', import.meta.url);
const config = JSON.parse(readFileSync(configPath, 'utf8'));
config.clients ??= [];
const accounts = config.accounts ?? [];
const resources = config.resources ?? {};

// --- signing keys -----------------------------------------------------------------------
// Every key ever made stays here (by kid) so /__test/mint can sign with a key that was
// dropped from the JWKS; `published` is what the provider signs with (first) and publishes.
const keys = new Map();
let published = [];

async function newKey() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.alg = 'RS256';
  jwk.use = 'sig';
  keys.set(jwk.kid, { jwk, privateKey });
  return jwk;
}

// --- the provider -----------------------------------------------------------------------
function findAccountBy(field, value) {
  return accounts.find((a) => a[field] !== undefined
    && String(a[field]).toLowerCase() === String(value).toLowerCase());
}

function accountClaims(account) {
  // Only the fields the account has: an account without preferred_username lets tests
  // exercise the API's fallback to email.
  const claims = { sub: account.sub };
  for (const name of ['preferred_username', 'email', 'name']) {
    if (account[name] !== undefined) claims[name] = account[name];
  }
  if (account.email !== undefined) claims.email_verified = account.email_verified ?? true;
  return claims;
}

const cookieKeys = [randomBytes(32).toString('base64url')];

function buildProvider(issuer, clients) {
  // oidc-provider reads its keys once, at construction: rotation builds a new instance.
  // Sessions, grants and codes live in its module-level memory adapter, so they survive.
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: published.map((jwk) => ({ ...jwk })) },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    // By default, code-flow ID tokens carry only sub; the API reads the login id from them.
    conformIdTokenClaims: false,
    async findAccount(ctx, sub) {
      const account = findAccountBy('sub', sub);
      if (!account) return undefined;
      return { accountId: account.sub, claims: async () => accountClaims(account) };
    },
    // Real IdPs put the user's name into API access tokens with a claim mapper; do the same
    // so the API can take the login id from an access token too.
    async extraTokenClaims(ctx, token) {
      if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
      const account = findAccountBy('sub', token.accountId);
      if (!account) return undefined;
      const { sub, email_verified: _, name: __, ...claims } = accountClaims(account);
      return claims;
    },
    pkce: { methods: ['S256'], required: () => true },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: {
      keys: cookieKeys,
      // Cookies ignore ports: prefixed names keep clear of the console's own cookies on
      // 127.0.0.1. Lax (not oidc-provider 8's None) because browsers drop SameSite=None
      // cookies that are not Secure, and this is plain http.
      names: { session: 'op_session', interaction: 'op_interaction', resume: 'op_resume' },
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client, oneOf) => oneOf,
        useGrantedResource: () => false,
        async getResourceServerInfo(ctx, resourceIndicator) {
          const info = resources[resourceIndicator];
          if (!info) throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
          return {
            scope: info.scope ?? '',
            audience: resourceIndicator,
            accessTokenTTL: info.accessTokenTTL ?? 3600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        // No "are you sure?": the form submits itself in a browser; an HTTP client posts
        // the form's fields (xsrf, logout=yes) to its action.
        async logoutSource(ctx, form) {
          const autoForm = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
          ctx.body = page('Signing out', `${autoForm}
            <button type="submit" form="op.logoutForm">Sign out</button>
            <script>document.getElementById('op.logoutForm').submit()</script>`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = page('Signed out', '<p id="signed-out">You are signed out.</p>');
        },
      },
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Error', `<pre id="error">${escapeHtml(JSON.stringify(out, null, 2))}</pre>`);
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  return { provider, handle: provider.callback() };
}

// --- pages and the login/consent interaction ---------------------------------------------
function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function loginPage(uid, clientId, error) {
  const path = `/interaction/${encodeURIComponent(uid)}`;
  return page('Sign in', `<p>Test provider; client <code>${escapeHtml(clientId)}</code>.</p>
${error ? `<p id="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form id="login" method="post" action="${path}/login">
  <label>Login (username or email) <input name="login" autofocus autocomplete="username"></label>
  <button type="submit">Sign in</button>
</form>
<form id="abort" method="post" action="${path}/abort"><button type="submit">Cancel</button></form>`);
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 65536) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function interaction(provider, req, res, pathname) {
  const [, , uid, action] = pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, 'text/plain', 'interaction mismatch');
  const { prompt, params } = details;

  if (req.method === 'GET' && prompt.name === 'login') {
    return send(res, 200, 'text/html; charset=utf-8', loginPage(uid, params.client_id));
  }
  if (req.method === 'GET' && prompt.name === 'consent') {
    // Consent is granted automatically: whatever the client asked for.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  if (req.method === 'POST' && action === 'login' && prompt.name === 'login') {
    const login = new URLSearchParams(await readBody(req)).get('login') ?? '';
    const account = findAccountBy('preferred_username', login) ?? findAccountBy('email', login);
    if (!account) {
      return send(res, 401, 'text/html; charset=utf-8', loginPage(uid, params.client_id, `Unknown login: ${login}`));
    }
    return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
  }
  if (req.method === 'POST' && action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }
  return send(res, 400, 'text/plain', `unexpected ${req.method} for prompt ${prompt.name}`);
}

// --- test-only control endpoints -----------------------------------------------------------
async function control(req, res, pathname, state) {
  const json = (status, body) => send(res, status, 'application/json', JSON.stringify(body));
  const input = req.method === 'POST' ? JSON.parse((await readBody(req)) || '{}') : {};
  const status = () => ({ kid: published[0].kid, published: published.map((k) => k.kid) });

  if (req.method === 'GET' && pathname === '/__test/keys') return json(200, status());
  if (req.method === 'POST' && pathname === '/__test/rotate') {
    const previous = published[0].kid;
    const jwk = await newKey();
    published = input.keep_old === false ? [jwk] : [jwk, ...published];
    await state.rebuild();
    return json(200, { ...status(), previous });
  }
  if (req.method === 'POST' && pathname === '/__test/clients') {
    // Lets a test register a client whose redirect_uri is known only after the provider
    // started (the console on a port picked at random); same client_id replaces.
    if (!input.client_id) return json(400, { error: 'client_id is required' });
    const clients = [...config.clients.filter((c) => c.client_id !== input.client_id), input];
    try {
      await state.rebuild(clients);
    } catch (err) {
      return json(400, { error: err.message, error_description: err.error_description });
    }
    return json(200, { clients: config.clients.map((c) => c.client_id) });
  }
  if (req.method === 'POST' && pathname === '/__test/mint') {
    // Signs exactly the claims given (no defaults: the caller decides iss, aud, exp, ...).
    const kid = input.kid ?? published[0].kid;
    const key = keys.get(kid);
    if (!key) return json(404, { error: `unknown kid ${kid}` });
    if (typeof input.claims !== 'object' || input.claims === null) return json(400, { error: 'claims must be an object' });
    const token = await new SignJWT(input.claims)
      .setProtectedHeader({ alg: 'RS256', kid, typ: input.typ ?? 'JWT' })
      .sign(key.privateKey);
    return json(200, { token, kid });
  }
  return json(404, { error: `no such control endpoint: ${req.method} ${pathname}` });
}

// --- server -----------------------------------------------------------------------------------
published = [await newKey()];
const state = { current: undefined, issuer: undefined };
// Swaps in a new provider only once all its clients pass oidc-provider's validation (which
// it would otherwise do lazily, at a client's first request).
state.rebuild = async (clients = config.clients) => {
  const next = buildProvider(state.issuer, clients);
  for (const { client_id: id } of clients) await next.provider.Client.find(id);
  config.clients = clients;
  state.current = next;
};

const server = http.createServer(async (req, res) => {
  const { pathname } = new URL(req.url, 'http://127.0.0.1');
  if (!state.current) return send(res, 503, 'text/plain', 'starting');
  const { provider, handle } = state.current;
  try {
    if (pathname.startsWith('/__test/')) return await control(req, res, pathname, state);
    if (pathname.startsWith('/interaction/')) return await interaction(provider, req, res, pathname);
    return handle(req, res);
  } catch (err) {
    console.error(req.method, req.url, err);
    if (!res.headersSent) send(res, err.statusCode ?? 500, 'text/plain', `${err.name}: ${err.message}`);
    else res.end();
  }
});

server.listen(requestedPort, '127.0.0.1', async () => {
  const { port } = server.address();
  state.issuer = `http://127.0.0.1:${port}`;
  try {
    await state.rebuild();
  } catch (err) {
    console.error(`invalid configuration in ${configPath}:`, err);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ ready: true, issuer: state.issuer, port, kid: published[0].kid })}\n`);
});

// Nothing to flush or save: all state is in memory and dies with the process.
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The caller holds our stdin open; when it goes away (even killed), so do we.
if (args['exit-with-stdin']) {
  process.stdin.on('end', stop).on('error', stop).resume();
}
