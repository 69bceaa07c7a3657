// Builds the widget: widget/src/{widget.js,widget.css} -> bot/web/static/{widget.js,widget.css},
// minified. The output is committed, so running the service needs no Node; the first line of
// widget.js names the hash of the sources it was built from, and tests/test_widget_size.py
// fails when the committed build is stale.
//
//   npm ci && npm run build      rebuild
//   npm run check                exit 1 when the committed files differ from a fresh build
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { transform } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'bot', 'web', 'static');
const check = process.argv.includes('--check');

const sha = (...parts) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
};

const jsSource = readFileSync(join(here, 'src', 'widget.js'));
const cssSource = readFileSync(join(here, 'src', 'widget.css'));
const sourceHash = sha(jsSource, cssSource).slice(0, 16);

const css = (await transform(cssSource.toString('utf8'), { loader: 'css', minify: true })).code;
const cssHash = sha(css).slice(0, 12);
const js = (
  await transform(jsSource.toString('utf8').replace('__CSS_HASH__', cssHash), {
    loader: 'js',
    minify: true,
    target: 'es2019',
    legalComments: 'none',
    charset: 'utf8',
  })
).code;
const files = {
  'widget.js': `/*! polisen-chat ${sourceHash} */\n${js}`,
  'widget.css': css,
};

let stale = false;
for (const [name, text] of Object.entries(files)) {
  const path = join(out, name);
  const bytes = Buffer.from(text, 'utf8');
  if (check) {
    let current = null;
    try { current = readFileSync(path); } catch { /* missing */ }
    if (!current || !current.equals(bytes)) {
      console.error(`${name} is not up to date: run npm run build in widget/`);
      stale = true;
    }
  } else {
    mkdirSync(out, { recursive: true });
    writeFileSync(path, bytes);
  }
  console.log(`${name}: ${bytes.length} bytes, ${gzipSync(bytes, { level: 9 }).length} gzipped`);
}
process.exit(stale ? 1 : 0);
