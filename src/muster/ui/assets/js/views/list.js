// A list page: a heading, a filter box that takes Consul's filter language, and a live region fed by
// a blocking-query watch. The expression lives in the URL (?filter=) so a filtered view can be shared.

import { linked, watch } from "../api.js";
import { errorNotice, filteredNote, h, replace } from "../dom.js";

const DEBOUNCE_MS = 600;

export function filterBox({ id, value, placeholder, hint, onApply }) {
  const input = h("input", {
    id,
    type: "search",
    name: "filter",
    value: value || "",
    placeholder,
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": `${id}-hint ${id}-error`,
  });
  const error = h("p", { id: `${id}-error`, class: "field-error", role: "alert" });
  let timer = null;
  const apply = () => {
    clearTimeout(timer);
    onApply(input.value.trim());
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(apply, DEBOUNCE_MS);
  });
  const form = h(
    "form",
    { class: "filter", role: "search", onsubmit: (e) => { e.preventDefault(); apply(); } },
    h("label", { for: id }, "Filter"),
    h("div", { class: "filter-row" }, input, h("button", { type: "submit" }, "Apply")),
    h("p", { id: `${id}-hint`, class: "hint" }, hint),
    error,
  );
  return {
    element: form,
    showError(text) {
      input.setAttribute("aria-invalid", "true");
      error.replaceChildren(h("strong", {}, "Invalid filter: "), text);
    },
    clearError() {
      input.removeAttribute("aria-invalid");
      error.replaceChildren();
    },
  };
}

export function setQueryParam(key, value) {
  const u = new URL(window.location.href);
  if (value) u.searchParams.set(key, value);
  else u.searchParams.delete(key);
  history.replaceState(history.state, "", u.pathname + u.search);
}

// Mount a list page. `view(body, headers)` returns the nodes to show for one answer.
export function listPage(main, ctx, { title, intro, path, query = {}, filter, view, controls }) {
  ctx.title(title);
  const messages = h("div", { class: "messages" });
  const content = h("div", { class: "content", id: `${ctx.section}-content` });
  let running = null;
  const box = filterBox({
    id: `${ctx.section}-filter`,
    value: ctx.query.get("filter"),
    placeholder: filter.placeholder,
    hint: filter.hint,
    onApply: (expression) => {
      setQueryParam("filter", expression);
      start(expression);
    },
  });
  const start = (expression) => {
    if (running) running.abort();
    running = linked(ctx.signal);
    box.clearError();
    watch(typeof path === "function" ? path() : path, {
      query: { ...query, filter: expression },
      signal: running.signal,
      onData: (body, headers) => {
        box.clearError();
        replace(messages, filteredNote(headers));
        replace(content, view(body, headers));
      },
      onError: (err) => {
        if (err.status === 400) {
          box.showError(err.message);
          replace(messages);
          replace(content);
        } else {
          replace(messages, errorNotice(err));
        }
      },
    });
  };
  main.append(
    h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, title), intro ? h("p", { class: "intro" }, intro) : null),
    h("div", { class: "toolbar" }, box.element, controls ? controls(() => start(box.element.filter.value.trim())) : null),
    messages,
    content,
  );
  start((ctx.query.get("filter") || "").trim());
}
