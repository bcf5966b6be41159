// Passkeys on the buyer pages (issue #13): add one, sign in with one, confirm with one.
// The server's options come as JSON with base64url strings; WebAuthn wants ArrayBuffers.
const b64ToBuf = (s) => {
  const pad = "=".repeat((4 - (s.length % 4)) % 4);
  const bin = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
};
const bufToB64 = (buf) =>
  btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function post(url, csrf, body) {
  const answer = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body || {}),
  });
  const data = await answer.json();
  if (!answer.ok) throw new Error(data.detail || answer.status);
  return data;
}

function showError(error) {
  const box = document.getElementById("passkey-error");
  if (box) { box.hidden = false; box.textContent = String(error.message || error); }
}

async function addPasskey(button) {
  const csrf = button.dataset.csrf;
  const { challenge_id, options } = await post("/me/passkeys/options", csrf);
  options.challenge = b64ToBuf(options.challenge);
  options.user.id = b64ToBuf(options.user.id);
  options.excludeCredentials = (options.excludeCredentials || []).map((c) => ({ ...c, id: b64ToBuf(c.id) }));
  const made = await navigator.credentials.create({ publicKey: options });
  const credential = {
    id: made.id,
    rawId: bufToB64(made.rawId),
    type: made.type,
    response: {
      clientDataJSON: bufToB64(made.response.clientDataJSON),
      attestationObject: bufToB64(made.response.attestationObject),
      transports: made.response.getTransports ? made.response.getTransports() : [],
    },
    clientExtensionResults: made.getClientExtensionResults(),
    authenticatorAttachment: made.authenticatorAttachment,
  };
  const saved = await post("/me/passkeys", csrf, { challenge_id, credential });
  document.getElementById("passkey-count").textContent = saved.passkeys;
  document.getElementById("passkey-done").hidden = false;
}

async function usePasskey(button, purpose) {
  const csrf = button.dataset.csrf;
  const { challenge_id, options } = await post(`/me/passkey/${purpose}/options`, csrf);
  options.challenge = b64ToBuf(options.challenge);
  options.allowCredentials = (options.allowCredentials || []).map((c) => ({ ...c, id: b64ToBuf(c.id) }));
  const got = await navigator.credentials.get({ publicKey: options });
  const credential = {
    id: got.id,
    rawId: bufToB64(got.rawId),
    type: got.type,
    response: {
      clientDataJSON: bufToB64(got.response.clientDataJSON),
      authenticatorData: bufToB64(got.response.authenticatorData),
      signature: bufToB64(got.response.signature),
      userHandle: got.response.userHandle ? bufToB64(got.response.userHandle) : null,
    },
    clientExtensionResults: got.getClientExtensionResults(),
    authenticatorAttachment: got.authenticatorAttachment,
  };
  const done = await post(`/me/passkey/${purpose}`, csrf, { challenge_id, credential, next: button.dataset.next });
  location.assign(done.next);
}

const wire = (id, work) => {
  const button = document.getElementById(id);
  if (!button) return;
  if (!window.PublicKeyCredential) { button.hidden = true; return; }
  button.addEventListener("click", () => work(button).catch(showError));
};
wire("passkey-add", addPasskey);
wire("passkey", (b) => usePasskey(b, "sign-in"));
wire("passkey-step-up", (b) => usePasskey(b, "step-up"));
