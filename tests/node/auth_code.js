// A web app's sign-in with Microsoft's @azure/msal-node, as its samples do: auth code URL, code -> tokens, silent.
// Input: argv JSON {authority, clientId, clientSecret, redirectUri}; the code arrives on stdin once the
// test has answered the sign-in screens at the URL this script prints. Output: one JSON line per step.
const msal = require("@azure/msal-node");
const readline = require("readline");

const config = JSON.parse(process.argv[2]);
const scopes = ["User.Read"];
const say = (value) => process.stdout.write(JSON.stringify(value) + "\n");
const idle = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const app = new msal.ConfidentialClientApplication({
    auth: {
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      authority: config.authority,
      // Not a Microsoft cloud host: trust it without instance discovery at login.microsoftonline.com.
      knownAuthorities: [new URL(config.authority).host],
    },
  });
  const pkce = await new msal.CryptoProvider().generatePkceCodes();
  const url = await app.getAuthCodeUrl({
    scopes, redirectUri: config.redirectUri, codeChallenge: pkce.challenge, codeChallengeMethod: "S256",
  });
  say({ step: "url", url });

  const lines = readline.createInterface({ input: process.stdin });
  const code = (await lines[Symbol.asyncIterator]().next()).value.trim();
  lines.close();
  const signedIn = await app.acquireTokenByCode({ code, scopes, redirectUri: config.redirectUri, codeVerifier: pkce.verifier });
  say({ step: "code", username: signedIn.account.username, scopes: signedIn.scopes, accessToken: signedIn.accessToken,
        idTokenClaims: signedIn.idTokenClaims });

  const silent = await app.acquireTokenSilent({ account: signedIn.account, scopes });
  say({ step: "silent", accessToken: silent.accessToken, fromCache: silent.fromCache });

  // Reuse the kept-alive connection after an idle pause longer than gunicorn's default keep-alive (2 s).
  await idle(config.idleMs);
  const refreshed = await app.acquireTokenSilent({ account: signedIn.account, scopes, forceRefresh: true });
  say({ step: "refreshed", accessToken: refreshed.accessToken, fromCache: refreshed.fromCache });
}

main().catch((error) => {
  say({ step: "error", error: String(error && (error.errorCode || error.name)), message: String(error && error.message) });
  process.exit(1);
});
