// clearway workspace: confirmation before decisions, and the ledger badge,
// which checks in this browser that every field of the declaration shown
// on the page is the one committed in its filing event's leaf (SD-JWT
// disclosures, RFC 9901), that the leaf is in the log (RFC 9162 section
// 2.1.3.2) and that the log signed that tree (C2SP signed-note, Ed25519).
// Nothing is fetched: the page carries the proof.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  const button = event.submitter;
  const message = (button && button.dataset.confirm) || form.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

const b64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const b64url = (text) => b64(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - text.length % 4) % 4));
const toB64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
// JSON with keys sorted at every depth: two values are one value if these match.
const canonical = (value) => JSON.stringify(value, (_, v) =>
  v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
    : v);
const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

async function rootFromInclusion(leaf, index, size, proof) {
  // RFC 9162 2.1.3.2, with BigInt so sizes beyond 2^53 stay exact.
  if (index >= size) throw new Error("index past the tree");
  let fn = BigInt(index), sn = BigInt(size) - 1n;
  let r = await sha256(concat(new Uint8Array([0]), leaf));
  for (const p of proof) {
    if (sn === 0n) throw new Error("proof too long");
    if ((fn & 1n) === 1n || fn === sn) {
      r = await sha256(concat(new Uint8Array([1]), p, r));
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      r = await sha256(concat(new Uint8Array([1]), r, p));
    }
    fn >>= 1n; sn >>= 1n;
  }
  if (sn !== 0n) throw new Error("proof too short");
  return r;
}

async function checkSignature(note, vkey) {
  // vkey: name+hexid+base64(0x01 || key); signature line: "— name base64(id || sig)".
  // The key's base64 may itself hold "+": split at the first two only.
  const first = vkey.indexOf("+");
  const second = vkey.indexOf("+", first + 1);
  const [name, keyId, keyText] = [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
  const key = b64(keyText);
  if (key[0] !== 1) return null;
  const split = note.indexOf("\n\n");
  const text = new TextEncoder().encode(note.slice(0, split + 1));
  for (const line of note.slice(split + 2).split("\n")) {
    if (!line.startsWith("\u2014 " + name + " ")) continue;
    const blob = b64(line.slice(name.length + 3));
    const id = Array.from(blob.slice(0, 4), (x) => x.toString(16).padStart(2, "0")).join("");
    if (id !== keyId) continue;
    let cryptoKey;
    try {
      cryptoKey = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      return null; // this browser has no Ed25519: say so rather than guess
    }
    return crypto.subtle.verify({ name: "Ed25519" }, cryptoKey, blob.slice(4), text);
  }
  return false;
}

async function checkFields(p, leafBytes) {
  // Each field shown must open a disclosure whose digest the leaf commits,
  // and the leaf must commit nothing the page does not show.
  const leaf = JSON.parse(new TextDecoder().decode(leafBytes));
  const committed = new Set(leaf.sd || []);
  const pre = document.getElementById("declaration-document");
  const shown = pre ? JSON.parse(pre.textContent) : {};
  const checked = new Set();
  for (const text of p.disclosures || []) {
    const digest = toB64url(await sha256(new TextEncoder().encode(text)));
    const [, name, value] = JSON.parse(new TextDecoder().decode(b64url(text)));
    if (!committed.has(digest)) throw new Error(`field ${name} is not the one committed on the ledger`);
    if (!(name in shown) || canonical(shown[name]) !== canonical(value)) {
      throw new Error(`field ${name} shown is not the one committed on the ledger`);
    }
    checked.add(name);
  }
  for (const name of Object.keys(shown)) {
    if (!checked.has(name)) throw new Error(`field ${name} shown has no commitment on the ledger`);
  }
  if (checked.size !== committed.size) throw new Error("the leaf commits fields the page does not show");
  return checked.size;
}

async function verifyBadge(badge) {
  const p = JSON.parse(badge.dataset.proof);
  try {
    const lines = p.checkpoint.split("\n");
    const root = b64(lines[2]);
    if (BigInt(lines[1]) !== BigInt(p.size)) throw new Error("checkpoint size differs");
    const computed = await rootFromInclusion(b64(p.leaf), p.index, p.size, p.proof.map(b64));
    if (!equal(computed, root)) throw new Error("the proof does not lead to the signed root");
    const signed = await checkSignature(p.checkpoint, p.vkey);
    if (signed === false) throw new Error("the checkpoint's signature does not verify");
    const fields = await checkFields(p, b64(p.leaf));
    badge.className = "badge verified";
    badge.textContent = `verified on the ledger: ${fields} fields against their commitments, leaf ${p.index} of ${p.size}` +
      (signed ? `, checkpoint signed by ${lines[0]}` : " (signature not checkable in this browser)");
  } catch (error) {
    badge.className = "badge failed";
    badge.textContent = `ledger check FAILED: ${error.message}`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const badge = document.getElementById("inclusion-badge");
  if (badge) verifyBadge(badge);
});
