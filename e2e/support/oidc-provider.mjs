// A minimal OpenID Connect provider for the browser suite: discovery, authorize (signs in a fixed
// user at once), token (RS256 id_token, PKCE checked), JWKS and userinfo. Node built-ins only.
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createServer } from "node:http";

const PORT = Number(process.env.OIDC_PORT ?? 3299);
const ISSUER = `http://localhost:${PORT}`;
const CLIENT_ID = process.env.OIDC_CLIENT_ID ?? "cairn-e2e";
const CLIENT_SECRET = process.env.OIDC_CLIENT_SECRET ?? "cairn-e2e-secret";
const USER = { sub: "sso-user-1", email: "sso.user@example.com", name: "Sso User" };

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: "jwk" }), kid: "e2e-key", alg: "RS256", use: "sig" };
const codes = new Map();

const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

function idToken(claims) {
  const input = `${b64({ alg: "RS256", typ: "JWT", kid: jwk.kid })}.${b64(claims)}`;
  return `${input}.${sign("sha256", Buffer.from(input), privateKey).toString("base64url")}`;
}

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function clientOk(req, form) {
  const basic = req.headers.authorization?.startsWith("Basic ")
    ? Buffer.from(req.headers.authorization.slice(6), "base64").toString().split(":").map(decodeURIComponent)
    : [form.get("client_id"), form.get("client_secret")];
  return basic[0] === CLIENT_ID && basic[1] === CLIENT_SECRET;
}

createServer(async (req, res) => {
  const url = new URL(req.url, ISSUER);
  if (url.pathname === "/.well-known/openid-configuration") {
    return json(res, 200, {
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      jwks_uri: `${ISSUER}/jwks`,
      userinfo_endpoint: `${ISSUER}/userinfo`,
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      code_challenge_methods_supported: ["S256"],
      scopes_supported: ["openid", "email", "profile"],
    });
  }
  if (url.pathname === "/jwks") return json(res, 200, { keys: [jwk] });
  if (url.pathname === "/authorize") {
    const p = url.searchParams;
    if (p.get("client_id") !== CLIENT_ID) return json(res, 400, { error: "unauthorized_client" });
    const code = randomBytes(16).toString("hex");
    codes.set(code, { challenge: p.get("code_challenge"), nonce: p.get("nonce"), redirectUri: p.get("redirect_uri") });
    const back = new URL(p.get("redirect_uri"));
    back.searchParams.set("code", code);
    if (p.get("state")) back.searchParams.set("state", p.get("state"));
    res.writeHead(302, { location: back.toString() });
    return res.end();
  }
  if (url.pathname === "/token" && req.method === "POST") {
    let body = "";
    for await (const chunk of req) body += chunk;
    const form = new URLSearchParams(body);
    if (!clientOk(req, form)) return json(res, 401, { error: "invalid_client" });
    const grant = codes.get(form.get("code"));
    codes.delete(form.get("code"));
    if (!grant || grant.redirectUri !== form.get("redirect_uri")) return json(res, 400, { error: "invalid_grant" });
    const verifier = form.get("code_verifier") ?? "";
    if (grant.challenge && createHash("sha256").update(verifier).digest("base64url") !== grant.challenge) {
      return json(res, 400, { error: "invalid_grant", error_description: "PKCE verification failed" });
    }
    const now = Math.floor(Date.now() / 1000);
    return json(res, 200, {
      access_token: randomBytes(16).toString("hex"),
      token_type: "Bearer",
      expires_in: 300,
      id_token: idToken({ iss: ISSUER, aud: CLIENT_ID, iat: now, exp: now + 300, ...(grant.nonce ? { nonce: grant.nonce } : {}), ...USER }),
    });
  }
  if (url.pathname === "/userinfo") return json(res, 200, USER);
  json(res, 404, { error: "not_found" });
}).listen(PORT, () => console.log(`[oidc] test provider on ${ISSUER}`));
