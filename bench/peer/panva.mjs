// panva's oidc-provider 9 as a peer of the idp-emulator in bench/compare_bench.py (issue 14): not part of the product.
//
// node bench/peer/panva.mjs --port P --data DIR --modules NODE_MODULES --users a@x,b@y
//
// One confidential client (the Espace Client's id, secret and redirect URI from bench/seed_values.py, passed
// in the environment by the benchmark), PKCE S256 required, refresh tokens rotated (as the emulator does),
// and the provider's own default development login and consent pages (devInteractions). Those pages take any
// login; a small middleware in front of the login form's POST checks the password against this account store
// (PBKDF2-SHA256, 1,000 iterations: the benchmarks' IDP_PASSWORD_HASH), so that a sign-in costs a real
// password check here too. The signing key is made once and kept in DIR (a warm start, like the emulator's).
import { createHash, generateKeyPairSync, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as querystring from 'node:querystring';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { port: { type: 'string' }, data: { type: 'string' }, modules: { type: 'string' }, users: { type: 'string' } },
});
const { default: Provider } = await import(pathToFileURL(join(args.modules, 'oidc-provider', 'lib', 'index.js')));
const env = process.env;

mkdirSync(args.data, { recursive: true });
const keyFile = join(args.data, 'jwks.json');
if (!existsSync(keyFile)) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'peer', alg: 'RS256', use: 'sig' };
  writeFileSync(keyFile, JSON.stringify({ keys: [jwk] }));
}
const secretFile = join(args.data, 'cookie-key');
if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(32).toString('hex'));

// The account store: email -> {salt, hash} (PBKDF2-SHA256, 1,000 iterations), and the claims.
const ITERATIONS = 1000;
const accounts = new Map();
for (const email of (args.users || '').split(',').filter(Boolean)) {
  const salt = randomBytes(16);
  accounts.set(email, { salt, hash: pbkdf2Sync(env.BENCH_PASSWORD, salt, ITERATIONS, 32, 'sha256') });
}
function passwordOk(email, password) {
  const account = accounts.get(email);
  if (!account || typeof password !== 'string') return false;
  return timingSafeEqual(pbkdf2Sync(password, account.salt, ITERATIONS, 32, 'sha256'), account.hash);
}

const issuer = `http://127.0.0.1:${args.port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: env.BENCH_CLIENT_ID,
    client_secret: env.BENCH_CLIENT_SECRET,
    redirect_uris: [env.BENCH_REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  jwks: JSON.parse(readFileSync(keyFile, 'utf8')),
  cookies: { keys: [readFileSync(secretFile, 'utf8')] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  async findAccount(ctx, id) {
    if (!accounts.has(id)) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: createHash('sha256').update(id).digest('hex').slice(0, 32), email: id, email_verified: true,
          name: `Bench ${id.split('@')[0]}` };
      },
    };
  },
});
provider.proxy = false;

// The password check in front of devInteractions' login POST (which accepts any login): the body is read here
// and handed on as request.body, which the provider's own parser then uses.
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path) && ctx.is('application/x-www-form-urlencoded')) {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString();
    const form = querystring.parse(raw);
    if (form.prompt === 'login' && !passwordOk(form.login, form.password)) {
      ctx.status = 403;
      ctx.body = 'wrong login or password';
      return;
    }
    ctx.request.body = raw;
  }
  await next();
});

provider.listen(Number(args.port), '127.0.0.1');
