// Attributes the code of a wasm module to Rust crates, from the function
// names in its `name` section (cargo's output keeps them; worker-build's and
// wasm-pack's wasm-opt pass strips them, so run this on
// target/wasm32-unknown-unknown/release/*.wasm, after LTO, before wasm-opt).
// Sizes are function body bytes before wasm-opt: use them as proportions.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

function leb(b, i) {
  let v = 0;
  let shift = 0;
  let byte;
  do {
    byte = b[i++];
    v += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [v, i];
}

/** Legacy-mangled (`_ZN<len><ident>...E`) or demangled names -> crate. */
function crateOf(name) {
  const m = name.match(/^_ZN(\d+)/);
  if (m) {
    const len = Number(m[1]);
    const start = 3 + m[1].length;
    const seg = name.slice(start, start + len);
    // `<T as Trait>::f` is mangled as `_$LT$path..T..$u20$as$u20$..$GT$`: take T's crate.
    const inner = seg.match(/^_?\$LT\$([a-z_][a-z0-9_]*)/);
    if (inner) return inner[1];
    return seg.startsWith("_$LT$") || seg.startsWith("$LT$") ? "<impl>" : seg;
  }
  const d = name.match(/^<?([a-z_][a-z0-9_]*)::/);
  if (d) return d[1];
  if (name.startsWith("__wbg") || name.startsWith("__wbindgen") || name.startsWith("__externref")) return "wasm-bindgen";
  return name ? "other (unmangled)" : "(no name)";
}

export function crateSizes(file) {
  const b = readFileSync(file);
  let i = 8;
  let importedFuncs = 0;
  const bodies = [];
  const names = new Map();
  let data = 0;
  while (i < b.length) {
    const id = b[i++];
    let size;
    [size, i] = leb(b, i);
    const end = i + size;
    if (id === 2) {
      let n;
      let j;
      [n, j] = leb(b, i);
      for (let k = 0; k < n; k++) {
        let l;
        [l, j] = leb(b, j);
        j += l;
        [l, j] = leb(b, j);
        j += l;
        const kind = b[j++];
        if (kind === 0) {
          importedFuncs++;
          [, j] = leb(b, j);
        } else if (kind === 1) {
          j++;
          const flags = b[j++];
          [, j] = leb(b, j);
          if (flags & 1) [, j] = leb(b, j);
        } else if (kind === 2) {
          const flags = b[j++];
          [, j] = leb(b, j);
          if (flags & 1) [, j] = leb(b, j);
        } else if (kind === 3) j += 2;
        else if (kind === 4) {
          j++;
          [, j] = leb(b, j);
        }
      }
    } else if (id === 10) {
      let n;
      let j;
      [n, j] = leb(b, i);
      for (let k = 0; k < n; k++) {
        let l;
        const start = j;
        [l, j] = leb(b, j);
        j += l;
        bodies.push(j - start);
      }
    } else if (id === 11) {
      data = size;
    } else if (id === 0) {
      let l;
      let j;
      [l, j] = leb(b, i);
      const sec = b.slice(j, j + l).toString();
      j += l;
      if (sec === "name") {
        while (j < end) {
          const sub = b[j++];
          let len;
          [len, j] = leb(b, j);
          const subEnd = j + len;
          if (sub === 1) {
            let n;
            [n, j] = leb(b, j);
            for (let k = 0; k < n; k++) {
              let idx;
              let nl;
              [idx, j] = leb(b, j);
              [nl, j] = leb(b, j);
              names.set(idx, b.slice(j, j + nl).toString());
              j += nl;
            }
          }
          j = subEnd;
        }
      }
    }
    i = end;
  }
  const byCrate = new Map();
  bodies.forEach((size, k) => {
    const crate = crateOf(names.get(importedFuncs + k) ?? "");
    byCrate.set(crate, (byCrate.get(crate) ?? 0) + size);
  });
  const code = bodies.reduce((a, x) => a + x, 0);
  return { code, data, crates: [...byCrate.entries()].sort((a, b) => b[1] - a[1]).map(([crate, bytes]) => ({ crate, bytes })) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const f of process.argv.slice(2)) {
    const r = crateSizes(f);
    console.log(`${f}: code ${r.code} B, data ${r.data} B`);
    for (const c of r.crates.slice(0, 20)) console.log(`  ${c.crate.padEnd(28)} ${String(c.bytes).padStart(8)}  ${((100 * c.bytes) / r.code).toFixed(1)}%`);
  }
}
