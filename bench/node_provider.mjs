// node-oidc-provider 9, one process, in memory: the other side of `bench/run.py versus`.
//
// Started by bench/versus.py with node 20 from bench/.node (npm install oidc-provider@9, outside git):
//   node bench/node_provider.mjs PORT
// The same clients as the idp side of the run (the secrets are throwaway, the issuer is loopback):
//   bench-svc      client_credentials, client_secret_basic, opaque access token (no resource indicator)
//   bench-svc-jwt  client_credentials, client_secret_basic, RS256 JWT access token (RFC 9068, resource
//                  indicator urn:bench:api made the default for this client)
//   bench-portal   authorization_code + refresh_token, client_secret_basic, PKCE, RS256 ID tokens, a refresh
//                  token rotated on every use (rotateRefreshToken: true), opaque access tokens
// Refresh tokens are obtained through the provider's own development interactions (devInteractions: the
// login and consent forms it serves itself), which versus.py drives like a browser. Nothing is persisted:
// the default in-memory adapter holds every grant and token.
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// oidc-provider lives in bench/.node (BENCH_NODE_DIR), not beside this file.
const nodeDir = process.env.BENCH_NODE_DIR || path.join(path.dirname(fileURLToPath(import.meta.url)), '.node');
const resolved = createRequire(path.join(nodeDir, 'package.json')).resolve('oidc-provider');
const { default: Provider } = await import(pathToFileURL(resolved).href);

const port = Number(process.argv[2] || 3000);
const issuer = `http://127.0.0.1:${port}`;
const SECRET = process.env.BENCH_NODE_SECRET || 'bench-secret-bench-secret-bench-secret-0123';
const REDIRECT = 'http://127.0.0.1:9/cb';
const API = 'urn:bench:api';

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'bench-svc',
      client_secret: SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'bench-svc-jwt',
      client_secret: SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'bench-portal',
      client_secret: SECRET,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys: [{ ...rsa, kid: 'rs1', use: 'sig', alg: 'RS256' }, { ...ec, kid: 'es1', use: 'sig', alg: 'ES256' }] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, name: 'Bench Person', email: 'bench@example.org' }),
  }),
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Only the JWT client gets a resource server (and so a JWT); the others keep opaque tokens.
      defaultResource: async (ctx, client, oneOf) => oneOf || (client?.clientId === 'bench-svc-jwt' ? API : undefined),
      useGrantedResource: async () => false,
      getResourceServerInfo: async (ctx, indicator) => {
        if (indicator !== API) throw new Provider.errors.InvalidTarget();
        return { scope: 'api', audience: API, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  rotateRefreshToken: true,
  ttl: { AccessToken: 3600, ClientCredentials: 3600, RefreshToken: 14 * 24 * 3600, IdToken: 3600 },
});

provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`node-oidc-provider listening on ${issuer}\n`);
});
