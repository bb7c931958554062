// The recipient's side of a MySafe share link: the same steps as mysafe_tui/core/sharecrypto.py.
// Opening the page only reads the share's status; a view is spent when "Reveal" is pressed.
"use strict";

const VERSION_LABEL = "mysafe/share/v1";
const PBKDF2_ITERATIONS = 600000;
const API = "/api/public/share/";
const NOUNS = { password: "password", note: "secure note", secretapi: "API secret", file: "file" };
const encoder = new TextEncoder();
const $ = (id) => document.getElementById(id);

function b64urlToBytes(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const raw = atob(b64);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function bytesToB64url(bytes) {
  let raw = "";
  for (const b of bytes) raw += String.fromCharCode(b);
  return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function concat(...arrays) {
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) { out.set(a, offset); offset += a.length; }
  return out;
}

// Length-prefixed associated data, as core/crypto.associated_data builds it.
function associatedData(...parts) {
  return concat(...parts.map((part) => {
    const raw = encoder.encode(part);
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, raw.length);
    return concat(length, raw);
  }));
}

async function hkdf(master, info) {
  const base = await crypto.subtle.importKey("raw", master, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(info) },
    base, 256);
  return new Uint8Array(bits);
}

async function deriveKeys(shareId, key, password, saltText) {
  let master = key;
  if (password) {
    const base = await crypto.subtle.importKey(
      "raw", encoder.encode(password.normalize("NFC")), "PBKDF2", false, ["deriveBits"]);
    const bits = await crypto.subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: b64urlToBytes(saltText),
        iterations: PBKDF2_ITERATIONS }, base, 256);
    master = concat(key, new Uint8Array(bits));
  }
  return {
    encryptionKey: await hkdf(master, `${VERSION_LABEL}/enc|${shareId}`),
    proof: await hkdf(master, `${VERSION_LABEL}/proof|${shareId}`),
    // From the key alone: tells the server a recipient (who may mistype the password) from a
    // stranger who knows only the share id (who is slowed down and can never destroy the link).
    holder: await hkdf(key, `${VERSION_LABEL}/holder|${shareId}`),
  };
}

async function openSealed(blob, shareId, encryptionKey) {
  const key = await crypto.subtle.importKey("raw", encryptionKey, "AES-GCM", false, ["decrypt"]);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: blob.slice(0, 12),
      additionalData: associatedData(VERSION_LABEL, shareId) }, key, blob.slice(12));
  return new Uint8Array(plain);
}

function decodePayload(bytes) {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(bytes.slice(4, 4 + length)));
  return { header, content: bytes.slice(4 + length) };
}

// Exposed for the test that checks this file against the Python test vectors.
window.mysafeShare = { deriveKeys, openSealed, decodePayload, b64urlToBytes, bytesToB64url };

function show(title, message) {
  $("state-title").textContent = title;
  $("message").textContent = message || "";
}

// The reader's own local time, with its offset from UTC ("GMT+1"): a link read in another
// time zone than it was made in says which hour it means.
function whenText(iso) {
  const when = new Date(iso);
  return when.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    timeZoneName: "shortOffset",
  });
}

function sizeText(bytes) {
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let value = bytes, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return unit ? `${value.toFixed(1)} ${units[unit]}` : `${value} bytes`;
}

const GONE_TITLES = {
  expired: "This link has expired",
  used_up: "This link has already been used",
  revoked: "This link was revoked",
  missing: "This link does not exist",
};

function showGone(state, message) {
  $("reveal-form").hidden = true;
  show(GONE_TITLES[state] || "This link no longer works",
    message || "Ask the person who sent it for a new link.");
  document.body.dataset.state = state;
}

function fail(id, text) {
  $(id).textContent = text;
  $(id).hidden = !text;
}

// A link made for a recipient (`mysafe share --to`): a code mailed to them opens it, with the
// key. Asking for one proves the key (the holder proof), so only a link holder makes mail.
function codeReady(note) {
  $("code-note").textContent = note;
  $("code-row").hidden = false;
  $("reveal").hidden = false;
  $("send-code").textContent = "Send a new code";
  $("send-code").className = "secondary";
  $("code").focus();
}

async function sendCode(shareId, key) {
  const button = $("send-code");
  button.disabled = true;
  fail("code-error", "");
  try {
    const holder = await hkdf(key, `${VERSION_LABEL}/holder|${shareId}`);
    const answer = await fetch(API + encodeURIComponent(shareId) + "/code", {
      method: "POST", cache: "no-store", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ holder: bytesToB64url(holder) }),
    });
    const share = (await answer.json().catch(() => ({}))).share || {};
    if (answer.ok) {
      codeReady(`A code was sent to ${share.recipient_hint}. It works for ` +
        `${share.code_minutes} minutes, for one view.`);
      document.body.dataset.state = "code-sent";
    } else if (share.refused === "code_soon") {
      codeReady("A code was sent moments ago: type that one, or ask again in a little while.");
    } else if (share.refused === "link") {
      show("This link is damaged", "Its key does not match. Copy the whole link and try again.");
      $("reveal-form").hidden = true;
      document.body.dataset.state = "broken";
    } else if (share.refused === "codes") {
      fail("code-error", "No more codes for this link: ask the person who sent it to resend it.");
    } else if (answer.status === 404 || answer.status === 410) {
      showGone(share.status || "missing");
    } else {
      fail("code-error", "The code could not be sent. Try again in a minute.");
    }
  } catch (err) {
    fail("code-error", "The server could not be reached. Check your connection.");
  } finally {
    button.disabled = false;
  }
}

function copyButton(value) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary copy";
  button.textContent = "Copy";
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = "Copied";
    } catch (err) {
      button.textContent = "Select and copy by hand";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
  return button;
}

function render(payload, viewsLeft) {
  const { header, content } = payload;
  const section = $("content");
  section.replaceChildren();
  for (const field of header.fields || []) {
    const block = document.createElement("div");
    block.className = "field";
    const label = document.createElement("div");
    label.className = "label";
    label.textContent = field.label;
    const row = document.createElement("div");
    row.className = "row";
    const value = document.createElement("pre");
    value.className = "value";
    value.textContent = field.value;
    row.append(value, copyButton(field.value));
    block.append(label, row);
    section.append(block);
  }
  if (header.file) {
    const block = document.createElement("div");
    block.className = "field";
    const name = document.createElement("div");
    name.className = "label";
    name.textContent = `${header.file.name} · ${sizeText(content.length)}`;
    const link = document.createElement("a");
    link.id = "download";
    link.download = header.file.name;
    link.href = URL.createObjectURL(new Blob([content], { type: "application/octet-stream" }));
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Download";
    link.append(button);
    block.append(name, link);
    section.append(block);
  }
  section.hidden = false;
  $("reveal-form").hidden = true;
  show(header.title, viewsLeft > 0
    ? `This link can be opened ${viewsLeft} more time${viewsLeft === 1 ? "" : "s"}.`
    : "That was the last view: this link no longer works. Save what you need now.");
  document.body.dataset.state = "revealed";
}

async function main() {
  const shareId = location.pathname.split("/").pop();
  if (!window.crypto || !crypto.subtle) {
    show("This page needs a secure connection",
      "Open the link over HTTPS: browsers only decrypt on secure pages.");
    return;
  }
  let key;
  try {
    key = b64urlToBytes(location.hash.slice(1));
  } catch (err) {
    key = new Uint8Array(0);
  }
  if (key.length !== 32) {
    show("This link is incomplete",
      "The part after # is missing or damaged. Copy the whole link and try again.");
    document.body.dataset.state = "incomplete";
    return;
  }
  let status;
  try {
    const answer = await fetch(API + encodeURIComponent(shareId), { cache: "no-store" });
    const body = await answer.json();
    status = body.share || { status: "missing" };
  } catch (err) {
    show("The server could not be reached", "Check your connection and reload the page.");
    return;
  }
  if (status.status !== "active") {
    showGone(status.status);
    return;
  }
  const noun = NOUNS[status.kind] || "secret";
  show(`Someone shared a ${noun} with you`,
    `Revealing it uses one of its ${status.views_left} remaining view` +
    `${status.views_left === 1 ? "" : "s"}. The link expires ${whenText(status.expires_at)}.`);
  $("password-row").hidden = !status.password_protected;
  if (status.code_required) {
    $("code-box").hidden = false;
    $("send-code").textContent = `Send the code to ${status.recipient_hint}`;
    $("send-code").addEventListener("click", () => sendCode(shareId, key));
    if (status.code_pending) {
      codeReady(`A code was sent to ${status.recipient_hint} in the last few minutes.`);
    } else {
      $("code-note").textContent = "This link was shared with one person: it opens with a " +
        `code sent to ${status.recipient_hint}.`;
      $("reveal").hidden = true;
    }
  }
  $("reveal-form").hidden = false;
  document.body.dataset.state = "ready";
  $("reveal-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("reveal");
    const password = $("password").value;
    if (status.password_protected && !password) {
      $("password-error").textContent = "Enter the password you were given.";
      $("password-error").hidden = false;
      return;
    }
    const code = $("code").value.replace(/\D/g, "");
    if (status.code_required && code.length !== 8) {
      fail("code-error", "Enter the 8-digit code from the e-mail.");
      return;
    }
    fail("code-error", "");
    button.disabled = true;
    button.textContent = "Decrypting…";
    try {
      const keys = await deriveKeys(shareId, key, password, status.kdf_salt);
      const answer = await fetch(API + encodeURIComponent(shareId) + "/reveal", {
        method: "POST", cache: "no-store", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ proof: bytesToB64url(keys.proof),
                               holder: bytesToB64url(keys.holder), code }),
      });
      const body = await answer.json().catch(() => ({}));
      const refused = (body.share || {}).refused;
      if (answer.status === 403 && refused === "link") {
        show("This link is damaged", "Its key does not match. Copy the whole link and try again.");
        $("reveal-form").hidden = true;
        document.body.dataset.state = "broken";
        return;
      }
      if (answer.status === 403 && (body.share || {}).status === "revoked") {
        showGone("revoked", `That was the last wrong ${refused}: the link is destroyed. ` +
          "Ask the person who sent it for a new one.");
        return;
      }
      if (answer.status === 403 && refused === "code_needed") {
        fail("code-error", "That code has expired (or none was sent): send a new one.");
        return;
      }
      if (answer.status === 403 && refused === "code") {
        const left = (body.share || {}).attempts_left;
        fail("code-error", "That code is not right: nothing was revealed." + (
          left === 1 ? " One more wrong code destroys the link."
            : ` ${left} more wrong codes destroy the link.`));
        document.body.dataset.state = "wrong-code";
        return;
      }
      if (answer.status === 403) {
        const left = (body.share || {}).attempts_left;
        $("password-error").textContent = "That link password is not right." + (
          left === 1 ? " One more wrong try destroys the link."
            : Number.isInteger(left) ? ` ${left} more wrong tries destroy the link.` : "");
        $("password-error").hidden = false;
        document.body.dataset.state = "wrong-password";
        return;
      }
      if (answer.status === 429) {
        const wait = Number(answer.headers.get("Retry-After")) || 60;
        $("password-error").textContent =
          `Too many tries. Wait ${wait} second${wait === 1 ? "" : "s"} and try again.`;
        $("password-error").hidden = false;
        return;
      }
      if (!answer.ok) {
        showGone((body.share || {}).status || "missing");
        return;
      }
      const plain = await openSealed(b64urlToBytes(body.share.ciphertext), shareId,
        keys.encryptionKey);
      render(decodePayload(plain), body.share.views_left);
    } catch (err) {
      show("This link could not be decrypted",
        "The link is damaged or was not copied whole. Ask the sender for a new one.");
      document.body.dataset.state = "broken";
    } finally {
      button.disabled = false;
      button.textContent = "Reveal";
    }
  });
}

main();
