// What the journal keeps of a scan that is not a ticket: never its text (staff type ID numbers
// into the manual field; cameras read payment codes and phone numbers). The same description
// the gate agent is moving to (gate_agent/samples.py on the `gates` branch):
//   length  characters read
//   shape   run-length coded character classes: 9 digit, A Latin letter, 汉 CJK, ? other,
//           ASCII punctuation as itself ("11010519491231002X" -> "9{17}A")
//   hash    HMAC-SHA256 (8 bytes, hex) under a key that lives only in this page's memory, so
//           repeats of one code can be told apart in a run, but nothing can be tested later
//   prefix  only for formats with nothing personal (EN1:, http(s)://): the marker itself

const KNOWN_PREFIXES = ["EN1:", "https://", "http://"];
const MAX_SHAPE = 40;
const PUNCTUATION = "-_:/.=+*#@&%$!?<>()[]{},;~^|\\'\" ";
let processKey = null;

function charClass(ch) {
  const code = ch.codePointAt(0);
  if (code < 128) {
    if (ch >= "0" && ch <= "9") return "9";
    if (/[A-Za-z]/.test(ch)) return "A";
    return PUNCTUATION.includes(ch) ? ch : "?";
  }
  if (/\p{Script=Han}/u.test(ch)) return "汉";
  if (/\p{N}/u.test(ch)) return "9";
  if (/\p{L}/u.test(ch)) return "A";
  return "?";
}

export function shape(text) {
  const parts = [];
  let previous = "", run = 0;
  const flush = () => previous && parts.push(run === 1 ? previous : `${previous}{${run}}`);
  for (const ch of text) {
    const cls = charClass(ch);
    if (cls === previous) { run += 1; continue; }
    flush();
    previous = cls;
    run = 1;
  }
  flush();
  const coded = parts.join("");
  return coded.length <= MAX_SHAPE ? coded : coded.slice(0, MAX_SHAPE - 1) + "…";
}

export async function describe(text) {
  if (!processKey) {
    processKey = await crypto.subtle.importKey(
      "raw", crypto.getRandomValues(new Uint8Array(32)), { name: "HMAC", hash: "SHA-256" }, false, ["sign"],
    );
  }
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", processKey, new TextEncoder().encode(text)));
  const sample = {
    length: [...text].length,
    shape: shape(text),
    hash: Array.from(mac.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join(""),
  };
  const prefix = KNOWN_PREFIXES.find((p) => text.startsWith(p));
  if (prefix) sample.prefix = prefix;
  return { sample };
}
