#!/usr/bin/env python3
"""Convert core callers to the one error convention of branch `errors` (base/error.h).

One-off, for merging branch `errors` with branches written against the old conventions;
delete it once merged.  Run from the top of a tree that already has the `errors` branch's
core/base, kube/, helm/, plugin.c, backend_wrap.c and conffile.c:
    python3 scripts/convert-errors.py core tests
It rewrites, in every .c/.h under the given directories (never core/base, core/kube/,
core/helm/, which the branch converted by hand):
  1. struct kube_error / struct helm_error            -> struct rm_error
  2. X == KUBE_E_CONFLICT && strcmp (E.reason, "AlreadyExists") == 0
                                                      -> X == KUBE_E_ALREADY_EXISTS
  3. any other X == KUBE_E_CONFLICT (it meant "any 409") -> rm_primary (X) == RM_E_EXISTS
  4. a local `char W[N];` used as the (buf, sizeof buf) error pair of gzip_inflate,
     yamljson_parse, yamljson_load or base64_decode in the same function:
       char W[N];  -> struct rm_error W;      call args W, sizeof W -> &W
       other uses of W (messages)             -> W.message
       gzip_inflate/yamljson_* (...) < 0      -> (...) != 0
       yamljson_load r == -2                  -> r == YAMLJSON_E_NO_FILE
Then it prints what it could not do: leftover .reason / .http_status uses, and calls of
functions whose char **error became struct rm_error * (plugin_load, plugin_find,
backend_resolve_config, backend_open, config_load) for a hand edit.  The compiler is the
final check: build with -Werror."""
import re, sys, os

SKIP = ('core/base/', 'core/kube/', 'core/helm/')
BUF_FUNCS = ('gzip_inflate', 'yamljson_parse', 'yamljson_load', 'base64_decode')
ERRPTR_FUNCS = ('plugin_load', 'plugin_find', 'backend_resolve_config', 'backend_open',
                'config_load')

def functions(lines):
    """(start, end) line ranges of top-level function bodies ('{' ... '}' in column 0)."""
    start = None
    for i, l in enumerate(lines):
        if l.startswith('{'):
            start = i
        elif l.startswith('}') and start is not None:
            yield start, i
            start = None

def convert_buffers(text):
    lines = text.split('\n')
    for a, b in list(functions(lines)):
        body = '\n'.join(lines[a:b + 1])
        for m in re.finditer(r'\b(%s) \(' % '|'.join(BUF_FUNCS), body):
            # find "NAME, sizeof NAME)" in this call
            call = body[m.start():]
            cm = re.match(r'[^;]*?,\s*(\w+),\s*sizeof \1\)', call, re.S)
            if not cm:
                continue
            w = cm.group(1)
            if not re.search(r'\bchar %s\[\w+\](\s*=\s*"")?;' % w, body):
                continue
            body = re.sub(r'\bchar %s\[\w+\](\s*=\s*"")?;' % w, 'struct rm_error %s;' % w, body)
            body = re.sub(r',(\s*)%s,(\s*)sizeof %s\)' % (w, w), r',\1&%s)' % w, body)
            # other uses of w become w.message (not &w, not w. or w->, not the decl)
            body = re.sub(r'(?<![&\w.])%s\b(?!\s*[.;\[]|->)' % w, '%s.message' % w, body)
            body = body.replace('struct rm_error %s.message;' % w, 'struct rm_error %s;' % w)
        # return conventions
        body = re.sub(r'((?:gzip_inflate|yamljson_parse|yamljson_load) \([^;]*?\))\s*<\s*0',
                      r'\1 != 0', body, flags=re.S)
        lines[a:b + 1] = body.split('\n')
    text = '\n'.join(lines)
    # yamljson_load's old -2 (file missing)
    if 'yamljson_load' in text:
        text = re.sub(r'\b(\w+) == -2\b', r'\1 == YAMLJSON_E_NO_FILE', text)
    return text

def convert(path):
    with open(path) as f:
        old = f.read()
    s = old
    s = re.sub(r'\bstruct (kube|helm)_error\b', 'struct rm_error', s)
    s = re.sub(r'(\w+) == KUBE_E_CONFLICT && strcmp \((\w+)\s*(?:\.|->)\s*reason, "AlreadyExists"\) == 0',
               r'\1 == KUBE_E_ALREADY_EXISTS', s)
    s = re.sub(r'(\w+) == KUBE_E_CONFLICT\b', r'rm_primary (\1) == RM_E_EXISTS', s)
    s = convert_buffers(s)
    if s != old:
        with open(path, 'w') as f:
            f.write(s)
        print('converted', path)
    for n, l in enumerate(s.split('\n'), 1):
        if re.search(r'(\.|->)(reason|http_status)\b', l) and 'cJSON' not in l:
            print('%s:%d: HAND EDIT (kube reason/http_status is gone): %s' % (path, n, l.strip()))
        if re.search(r'\b(%s) \(' % '|'.join(ERRPTR_FUNCS), l) and '&error' in l:
            print('%s:%d: HAND EDIT (now takes struct rm_error *): %s' % (path, n, l.strip()))

for top in sys.argv[1:] or ['core', 'tests']:
    for d, _, files in os.walk(top):
        for fn in files:
            p = os.path.join(d, fn)
            if fn.endswith(('.c', '.h')) and not any(p.startswith(x) or ('/' + x) in p for x in SKIP):
                convert(p)
