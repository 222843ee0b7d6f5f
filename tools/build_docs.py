"""Build the documentation site without Quarto, from the same nbdev-processed notebooks `nbdev_docs` renders.

Steps: nbdev's `proc_nbs` (directives, automatic `show_doc` for every exported symbol, executed doc cells) -> one HTML
page per notebook with nbconvert -> a sidebar linking all pages -> `_docs/`. Also writes README.md from index.ipynb.
With --check, opens pages in headless Chromium, saves a screenshot and asserts that the API docs and a figure show.
Where Quarto is installed, `nbdev_docs` builds the full Quarto site from `_quarto.yml` instead.
"""
import argparse, base64, html, json, os, re, shutil, subprocess, sys, tempfile
from pathlib import Path
import nbformat
from nbconvert import HTMLExporter, MarkdownExporter

ROOT = Path(__file__).resolve().parents[1]
CSS = """
body{margin:0;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#222;display:flex}
nav{width:240px;min-height:100vh;background:#f5f6f8;border-right:1px solid #ddd;padding:18px 14px;box-sizing:border-box;position:sticky;top:0;align-self:flex-start}
nav a{display:block;color:#234;text-decoration:none;padding:4px 6px;border-radius:4px;font-size:14px}
nav a.current{background:#dfe6f0;font-weight:600} nav h2{font-size:16px;margin:0 0 12px}
main{max-width:980px;padding:18px 36px;box-sizing:border-box;overflow-x:auto}
pre{background:#f7f7f7;padding:10px;border-radius:4px;overflow-x:auto;font-size:13px}
.jp-OutputArea-output pre{background:#fff;border-left:3px solid #ddd}
img{max-width:100%} table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ddd;padding:3px 8px}
.jp-InputPrompt,.jp-OutputPrompt{display:none}
footer{margin-top:40px;color:#888;font-size:12px}
"""

def front_matter_to_markdown(nb):
    "nbdev puts the title and summary into a raw YAML cell (for Quarto); show them as a heading and a lead instead."
    import yaml
    if nb.cells and nb.cells[0].cell_type == 'raw' and nb.cells[0].source.startswith('---'):
        meta = yaml.safe_load(nb.cells[0].source.strip().strip('-')) or {}
        lead = f"\n\n> {meta['description']}" if meta.get('description') else ''
        nb.cells[0] = nbformat.v4.new_markdown_cell(f"# {meta.get('title', '')}{lead}")
    return nb

def quarto_to_html(nb):
    "Apply what Quarto would: hide `echo: false` inputs, drop directive lines, strip Quarto link attributes."
    for c in nb.cells:
        if c.cell_type == 'code':
            if re.search(r'^#\|\s*echo:\s*false', c.source, re.M): c.metadata.setdefault('tags', []).append('remove_input')
            c.source = re.sub(r'^#\|.*\n?', '', c.source, flags=re.M)
            for o in c.get('outputs', []):
                for k in ('text/markdown', 'text/html'):
                    if k in o.get('data', {}): o['data'][k] = re.sub(r'\{target="_blank"[^}]*\}', '', o['data'][k])
    return nb

def title_of(nb, stem):
    for c in nb.cells:
        if c.cell_type == 'markdown':
            m = re.search(r'^#\s+(.+)$', c.source, re.M)
            if m: return m.group(1).strip()
    return stem

def split_import_cells(nb):
    """nbdev's doc processor executes, in a fresh kernel, every cell that contains an import (with exported code), so a
    test cell such as `import copy; y = copy.copy(x)` would fail the docs build on `x`. Split such cells into their
    imports (evaluated, hidden) and the rest (shown with its stored outputs, not evaluated); the page reads the same."""
    import ast
    cells = []
    for c in nb.cells:
        lines = c.source.splitlines()
        dirs = [l for l in lines if l.startswith('#|')]
        names = {l[2:].strip().split()[0] for l in dirs if l[2:].strip()}
        try: tree = ast.parse(c.source) if c.cell_type == 'code' else None
        except SyntaxError: tree = None
        if tree is None or names & {'export', 'exports', 'exporti', 'exec_doc'}: cells.append(c); continue
        imps = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        nested = any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))   # nbdev looks at the whole tree
        if not nested or len(imps) == len(tree.body): cells.append(c); continue
        rows = {i for n in imps for i in range(n.lineno - 1, n.end_lineno)}
        if imps: cells.append(nbformat.v4.new_code_cell('\n'.join(dirs + ['#| echo: false'] + [l for i, l in enumerate(lines) if i in rows and l not in dirs])))
        rest = nbformat.v4.new_code_cell('\n'.join(dirs + ['#| eval: false'] + [l for i, l in enumerate(lines) if i not in rows and l not in dirs]))
        rest.outputs = c.get('outputs', [])
        cells.append(rest)
    nb.cells = cells
    return nb

def process(files):
    "Run nbdev's doc processing (the same processors nbdev_docs uses) into _proc/."
    from nbdev.serve import proc_nbs
    shutil.rmtree(ROOT/'_proc', ignore_errors=True)
    os.chdir(ROOT)
    src = ROOT/'_proc_src'; shutil.rmtree(src, ignore_errors=True); src.mkdir()
    for f in (ROOT/'nbs').glob('*.ipynb'):
        if not files or re.search(files, f.name): nbformat.write(split_import_cells(nbformat.read(f, as_version=4)), src/f.name)
    try: return proc_nbs(path=src, n_workers=0, force=True)
    finally: shutil.rmtree(src, ignore_errors=True)

def build(files=None):
    cache = process(files)
    nbs = sorted(cache.glob('*.ipynb'), key=lambda p: (p.stem != 'index', p.stem))
    if not nbs: sys.exit('no processed notebooks')
    out = ROOT/'_docs'; shutil.rmtree(out, ignore_errors=True); out.mkdir()
    pages = [(p, quarto_to_html(front_matter_to_markdown(nbformat.read(p, as_version=4)))) for p in nbs]
    titles = {p.stem: title_of(nb, p.stem) for p, nb in pages}
    href = lambda stem: 'index.html' if stem == 'index' else f'{stem}.html'
    from traitlets.config import Config
    cfg = Config(); cfg.TagRemovePreprocessor.remove_input_tags = {'remove_input'}; cfg.TagRemovePreprocessor.enabled = True
    exp = HTMLExporter(template_name='lab', config=cfg); exp.exclude_input_prompt = exp.exclude_output_prompt = True
    for p, nb in pages:
        body, _ = exp.from_notebook_node(nb)
        body = re.search(r'<body[^>]*>(.*)</body>', body, re.S).group(1)
        head = re.search(r'<head>(.*)</head>', exp.from_notebook_node(nb)[0], re.S).group(1)
        nav = '\n'.join(f'<a href="{href(s)}" class="{"current" if s == p.stem else ""}">{html.escape(t)}</a>' for s, t in titles.items())
        page = (f'<!doctype html><html><head>{head}<title>{html.escape(titles[p.stem])} – adapt_nb</title><style>{CSS}</style></head>'
                f'<body><nav><h2>adapt_nb</h2>{nav}</nav><main>{body}<footer>Built from nbs/{p.stem}.ipynb by tools/build_docs.py</footer></main></body></html>')
        (out/href(p.stem)).write_text(page, encoding='utf-8')
    # README.md from the processed index notebook (what `nbdev_readme` does with Quarto)
    idx = quarto_to_html(front_matter_to_markdown(nbformat.read(cache/'index.ipynb', as_version=4)))
    md, res = MarkdownExporter(config=cfg).from_notebook_node(idx)
    for name, data in res.get('outputs', {}).items():
        (ROOT/'index_files').mkdir(exist_ok=True); (ROOT/'index_files'/name).write_bytes(data)
        md = md.replace(f']({name})', f'](index_files/{name})')
    md = md.replace('<!-- WARNING: THIS FILE WAS AUTOGENERATED! DO NOT EDIT! -->', '')
    md = re.sub(r'\n{3,}', '\n\n', md).strip() + '\n'
    (ROOT/'README.md').write_text('<!-- generated from nbs/index.ipynb by tools/build_docs.py: do not edit -->\n\n' + md, encoding='utf-8')
    print(f'[docs] {len(pages)} pages in {out}, README.md written')
    return out, titles

def chromium():
    for c in ('chromium', 'chromium-browser', 'google-chrome'):
        p = shutil.which(c)
        if p: return p
    if os.geteuid() == 0 and shutil.which('apt-get'):
        print('[docs] installing Debian chromium for the check')
        subprocess.run('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null', shell=True, check=True)
        return shutil.which('chromium')
    sys.exit('chromium not found: install it (Debian: apt-get install chromium) to check the docs')

def check(out, titles, page='02_models'):
    "Open the site in headless Chromium: screenshot, and assert API docs + a figure are rendered."
    exe = chromium()
    flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync', f'--user-data-dir={tempfile.mkdtemp()}']
    shot = out/'screenshot.png'
    url = (out/f'{page}.html').as_uri()
    subprocess.run([exe, *flags, f'--screenshot={shot}', '--window-size=1280,1600', url], check=True, capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000, 'screenshot missing or blank'
    problems = []
    for stem in titles:
        dom = subprocess.run([exe, *flags, '--dump-dom', (out/(('index' if stem == 'index' else stem) + '.html')).as_uri()],
                             check=True, capture_output=True, text=True, timeout=120).stdout
        if '<nav>' not in dom or dom.count('<a href=') < len(titles): problems.append(f'{stem}: navigation missing')
        titles[stem] = (titles[stem], dom)
    dom = titles[page][1]
    if not re.search(r'<h3[^>]*>\s*load_classifier', dom): problems.append(f'{page}: no rendered API doc for load_classifier')
    figs = [s for s, (_, d) in titles.items() if re.search(r'<img[^>]+src="data:image/png', d)]
    if not figs: problems.append('no page shows a figure')
    if problems: sys.exit('[docs] check failed:\n  ' + '\n  '.join(problems))
    print(f'[docs] check ok: {len(titles)} pages with navigation; API docs on {page}; figures on {figs}; screenshot {shot.relative_to(ROOT)}')

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--check', action='store_true', help='check the site in headless Chromium')
    ap.add_argument('--files', default=None, help='regex of notebooks to include (default: all)')
    a = ap.parse_args()
    out, titles = build(a.files)
    if a.check: check(out, titles)
