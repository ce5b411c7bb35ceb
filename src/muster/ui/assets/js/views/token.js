// The ACL token: kept in localStorage, sent as X-Consul-Token; shows what the agent says it is.

import { getToken, request, setToken, settings } from "../api.js";
import { h, notice, replace } from "../dom.js";

async function describe(region) {
  if (!getToken()) {
    replace(region, notice("info", "No token set.", settings.aclsEnabled ? "Requests use the anonymous token." : ""));
    return;
  }
  try {
    const { body } = await request("GET", "/v1/acl/token/self");
    const policies = (body.Policies || []).map((p) => p.Name).join(", ") || "none";
    replace(region, notice("ok", "Token accepted.", `${body.Description || body.AccessorID} · policies: ${policies}`));
  } catch (err) {
    // Consul answers token/self with 403 "ACL not found" or 404 "Supplied token does not exist".
    if (err.status === 403 || err.status === 404) replace(region, notice("error", "Token refused", err.message));
    else replace(region, notice("info", "Token saved.", `The agent could not describe it: ${err.message}`));
  }
}

export default function tokenView(main, ctx) {
  ctx.title("Token");
  const result = h("div", { class: "messages", id: "token-result" });
  const input = h("input", { id: "token-input", type: "password", autocomplete: "off", spellcheck: "false", value: getToken() });
  const save = (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    ctx.tokenChanged();
    describe(result);
  };
  const clear = () => {
    input.value = "";
    setToken("");
    ctx.tokenChanged();
    describe(result);
  };
  main.append(
    h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, "ACL token"),
      h("p", { class: "intro" }, settings.aclsEnabled
        ? "ACLs are on: pages show only what this token may read. It is kept in this browser (localStorage) and sent as X-Consul-Token."
        : "ACLs are off on this agent: no token is needed.")),
    h("form", { class: "token-form", onsubmit: save },
      h("label", { for: "token-input" }, "Secret ID"),
      h("div", { class: "filter-row" }, input,
        h("button", { type: "submit" }, "Save token"),
        h("button", { type: "button", class: "secondary", onclick: clear }, "Clear"))),
    result,
  );
  describe(result);
}
