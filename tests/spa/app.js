// A single-page app as developers write it with @azure/msal-browser; the test drives it through window.spa.
(async () => {
  const config = await (await fetch("config.json")).json();
  const here = window.location.origin + "/";
  const pca = new msal.PublicClientApplication({
    auth: {
      clientId: config.clientId,
      authority: config.authority,
      // Not a Microsoft cloud host: trust it without instance discovery at login.microsoftonline.com.
      knownAuthorities: [new URL(config.authority).host],
      redirectUri: here,
      postLogoutRedirectUri: here,
    },
    cache: { cacheLocation: "localStorage" },
  });
  try {
    await pca.initialize();
    const result = await pca.handleRedirectPromise();
    if (result) pca.setActiveAccount(result.account);
    const account = pca.getActiveAccount() || pca.getAllAccounts()[0] || null;
    document.getElementById("account").textContent = account ? account.username : "";
    window.spa = {
      redirectResult: result && { accessToken: result.accessToken, scopes: result.scopes, username: result.account.username },
      accounts: () => pca.getAllAccounts().map((a) => a.username),
      login: () => pca.loginRedirect({ scopes: config.scopes }),
      silent: async (forceRefresh) => {
        const r = await pca.acquireTokenSilent({ scopes: config.scopes, account, forceRefresh });
        return { accessToken: r.accessToken, fromCache: r.fromCache, scopes: r.scopes };
      },
      me: async (accessToken) => {
        const response = await fetch(config.graph + "/v1.0/me", { headers: { Authorization: "Bearer " + accessToken } });
        return { status: response.status, body: await response.json() };
      },
      logout: () => pca.logoutRedirect({ account }),
    };
    document.body.dataset.state = "ready";
  } catch (error) {
    document.getElementById("error").textContent = `${error.errorCode || ""} ${error.message || error}`;
    document.body.dataset.state = "error";
  }
})();
