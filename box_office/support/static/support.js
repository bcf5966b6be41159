// Shared helpers of the support pages: language, API calls with the bearer token, safe rendering.
export function startLang(texts) {
  const saved = localStorage.getItem("encore.lang");
  const lang = saved === "zh" || saved === "en" ? saved : document.documentElement.lang.startsWith("zh") ? "zh" : "en";
  return { lang, t: (key, ...args) => { const v = texts[lang][key]; return typeof v === "function" ? v(...args) : v; } };
}

// A link may carry the token in its fragment (never sent to the server): #buyer=... or
// #organiser=...; it is kept in localStorage like the other pages do, and the fragment cleared.
export function storedToken(key) {
  const name = key.replace("encore.", "");
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get(name)) {
    localStorage.setItem(key, JSON.stringify({ token: hash.get(name) }));
    history.replaceState(null, "", location.pathname + location.search);
  }
  try { const v = JSON.parse(localStorage.getItem(key) || "null"); return v && v.token ? v.token : null; }
  catch { return null; }
}

export async function api(token, method, path, body) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw Object.assign(new Error(data && data.detail ? data.detail : res.statusText), { status: res.status });
  return data;
}

// Text only: never innerHTML with what buyers or staff wrote.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

export function when(seconds, lang) {
  return new Date(seconds * 1000).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { dateStyle: "short", timeStyle: "short" });
}
