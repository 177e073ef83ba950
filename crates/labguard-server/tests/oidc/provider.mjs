// A real OpenID Connect provider (the npm package `oidc-provider`) for labguard's single
// sign-on tests, on 127.0.0.1 over http (labguard allows http issuers on loopback only).
// Accounts carry groups and amr claims; POST /test/disable/<login> disables one, after which
// the provider refuses its refresh tokens (as a directory does for a disabled person).
//
// Environment: PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI. Prints "ready <issuer>" once
// listening. Installed by scripts/test.sh (or the test) outside git; see docs/testing.md.
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;

const accounts = {
  // Mapped (lab-techs) and the directory did MFA.
  alice: { password: 'alice-pw', name: 'Alice Adler', groups: ['lab-techs'], amr: ['pwd', 'mfa'] },
  // No rule matches her groups.
  bob: { password: 'bob-pw', name: 'Bob Brandt', groups: ['finance'], amr: ['pwd', 'mfa'] },
  // Mapped, password only: labguard must ask for its own TOTP.
  carol: { password: 'carol-pw', name: 'Carol Chen', groups: ['lab-techs'], amr: ['pwd'] },
  // Mapped with MFA; disabled mid-test.
  dave: { password: 'dave-pw', name: 'Dave Dorn', groups: ['lab-techs'], amr: ['pwd', 'otp'] },
};
const disabled = new Set();

function account(id) {
  const a = accounts[id];
  if (!a || disabled.has(id)) return undefined;
  return {
    accountId: id,
    async claims() {
      return { sub: id, name: a.name, preferred_username: id, email: `${id}@lab.example`, groups: a.groups };
    },
  };
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  // amr rides on the openid scope: the provider's ID token keeps only scope claims.
  claims: {
    auth_time: null,
    sid: null,
    openid: ['sub', 'amr'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    groups: ['groups'],
  },
  scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
  // Scope claims go in the ID token too (Entra ID and Okta put groups there).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  findAccount: async (_ctx, id) => account(id),
  // A refresh token for every sign-in (real directories: offline_access, or by policy).
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  // A first-party client: no consent screen.
  loadExistingGrant: async (ctx) => {
    const id = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (id) return ctx.oidc.provider.Grant.find(id);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email groups offline_access');
    await grant.save();
    return grant;
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['labguard-test-cookie-key'] },
  ttl: { RefreshToken: 3600, AccessToken: 600, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

function body(req) {
  return new Promise((resolve) => {
    let b = '';
    req.on('data', (c) => { b += c; if (b.length > 4096) req.destroy(); });
    req.on('end', () => resolve(new URLSearchParams(b)));
  });
}

const loginPage = (uid, msg) => `<!doctype html><html><body><h1>Lab directory</h1><p id="msg">${msg}</p>
<form method="post" action="/interaction/${uid}/login">
<input id="login" name="login"><input id="password" name="password" type="password">
<button id="submit" type="submit">Sign in</button></form></body></html>`;

const handler = provider.callback();
http.createServer(async (req, res) => {
  try {
    const m = req.url.match(/^\/interaction\/([^/?]+)(\/login)?/);
    if (m && req.method === 'GET' && !m[2]) {
      await provider.interactionDetails(req, res);
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(loginPage(m[1], ''));
    }
    if (m && req.method === 'POST' && m[2]) {
      const p = await body(req);
      const id = p.get('login');
      const a = accounts[id];
      if (!a || a.password !== p.get('password') || disabled.has(id)) {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(loginPage(m[1], 'wrong user name or password'));
      }
      return provider.interactionFinished(req, res, { login: { accountId: id, amr: a.amr } }, { mergeWithLastSubmission: false });
    }
    const d = req.url.match(/^\/test\/disable\/([a-z]+)$/);
    if (d && req.method === 'POST') {
      disabled.add(d[1]);
      res.writeHead(204);
      return res.end();
    }
    return handler(req, res);
  } catch (e) {
    console.error(e);
    res.writeHead(500);
    res.end(String(e && e.message));
  }
}).listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
