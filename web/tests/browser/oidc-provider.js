// A real OpenID Connect provider for the browser test of "Sign in with …":
// panva's oidc-provider (OpenID Certified), in memory, with its development
// interactions (a login form that takes any login and password, then a
// consent prompt). One confidential client: the authorization code grant,
// client_secret_basic at the token endpoint, PKCE (S256) required.
//
//   OIDC_PORT=4455 OIDC_REDIRECT_URI=http://127.0.0.1:8080/login/callback \
//     node oidc-provider.js
//
// Environment:
//   OIDC_PORT           port to listen on, on 127.0.0.1 (required)
//   OIDC_ISSUER         issuer URL (default http://localhost:$OIDC_PORT; any
//                       http URL reaching 127.0.0.1:$OIDC_PORT)
//   OIDC_REDIRECT_URI   the client's one redirect URI (required)
//   OIDC_CLIENT_ID      default gas-browser-test
//   OIDC_CLIENT_SECRET  default browser-test-secret
//   OIDC_EMAIL_DOMAIN   the account typed as LOGIN gets sub LOGIN and the
//                       verified email LOGIN@$OIDC_EMAIL_DOMAIN (default
//                       oidc.example.org)
//   OIDC_CONFORM_ID_TOKEN_CLAIMS=1  keep oidc-provider's default of putting
//                       scope-requested claims (email) only in the userinfo
//                       answer, not in the ID token (see below)
// It prints "oidc-provider ready at <issuer>" once it listens, one line per
// sign-in event, and stops on SIGTERM/SIGINT.
//
// Plain http on loopback: oidc-provider accepts an http issuer as it is
// (its proxy setting, and `provider.proxy = true`, matter only for an https
// issuer behind a TLS-terminating proxy, which this is not); its cookies
// are then sent without `Secure`, which browsers accept on http.
"use strict";

const crypto = require("node:crypto");

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`oidc-provider.js: ${name} is required`);
    process.exit(2);
  }
  return v;
}

async function main() {
  const port = Number(required("OIDC_PORT"));
  const issuer = process.env.OIDC_ISSUER || `http://localhost:${port}`;
  const redirectUri = required("OIDC_REDIRECT_URI");
  const clientId = process.env.OIDC_CLIENT_ID || "gas-browser-test";
  const clientSecret = process.env.OIDC_CLIENT_SECRET || "browser-test-secret";
  const emailDomain = process.env.OIDC_EMAIL_DOMAIN || "oidc.example.org";
  const conform = process.env.OIDC_CONFORM_ID_TOKEN_CLAIMS === "1";

  // oidc-provider is an ES module.
  const { default: Provider } = await import("oidc-provider");

  // A fresh RS256 signing key per run (instead of the package's published
  // development key), and fresh cookie-signing keys.
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: "jwk" }), kid: `k-${crypto.randomBytes(6).toString("hex")}`, use: "sig", alg: "RS256" };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
        id_token_signed_response_alg: "RS256",
      },
    ],
    // PKCE for every authorization request, not only public clients'.
    responseTypes: ["code"],
    pkce: { methods: ["S256"], required: () => true },
    // Which claims each scope releases; GAS asks for "openid email profile"
    // and uses sub, email and email_verified.
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
    },
    scopes: ["openid", "email"],
    // OIDC Core 5.4: claims requested by scope are returned from the
    // userinfo endpoint, and in the ID token only when no access token is
    // issued — oidc-provider's default. GAS reads the email from the ID
    // token only, so by default this provider puts it there too.
    conformIdTokenClaims: conform,
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims(use, scope) {
          return { sub, email: `${sub}@${emailDomain}`, email_verified: true };
        },
      };
    },
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString("hex")] },
    features: {
      devInteractions: { enabled: true },
      // Nothing else: no dynamic registration, no introspection, no revocation.
      introspection: { enabled: false },
      revocation: { enabled: false },
    },
    // A dev provider: no refresh tokens, short-lived everything.
    issueRefreshToken: async () => false,
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  });

  for (const event of [
    "authorization.accepted",
    "interaction.started",
    "interaction.ended",
    "grant.success",
  ]) {
    provider.on(event, (ctx) => console.log(`${new Date().toISOString()} ${event} ${ctx.method} ${ctx.path}`));
  }
  for (const event of ["authorization.error", "grant.error", "server_error", "userinfo.error", "jwks.error", "discovery.error"]) {
    provider.on(event, (ctx, err) =>
      console.log(`${new Date().toISOString()} ${event} ${ctx && ctx.method} ${ctx && ctx.path}: ${err && (err.error || err.name)} ${err && (err.error_description || err.message)}`),
    );
  }

  const server = provider.listen(port, "127.0.0.1", () => {
    console.log(`oidc-provider ready at ${issuer} (client ${clientId}, redirect ${redirectUri})`);
  });
  server.on("error", (e) => {
    console.error(`oidc-provider.js: ${e.message}`);
    process.exit(1);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
    server.closeAllConnections?.();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e) => {
  console.error(`oidc-provider.js: ${e.stack || e}`);
  process.exit(1);
});
